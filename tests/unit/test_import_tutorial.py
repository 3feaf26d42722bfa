"""The tutorial LeNet-5 (the Keras demo of LeCun-style tutorials, d2l's LeNet): tanh or sigmoid, 2x2 average
pooling that feeds the next layer with no activation, a fully connected C3. It imports exactly as the
classic variant with pool activation "none", and runs bit-exactly through quantize -> validate (C engine).
Written by torch.onnx.export and, for the Keras demo, by tf2onnx (a committed fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

from edgelenet.checkpoint import load_checkpoint
from edgelenet.cli import app

N_IMAGES = 300
FIXTURES = Path(__file__).parents[1] / "fixtures"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


class TutorialLeNet(nn.Module):
    """Conv 5x5 (padding 2 on 28x28) + act -> AvgPool 2x2 -> Conv 5x5 + act -> AvgPool 2x2 -> Flatten ->
    Dense + act -> Dense + act -> Dense."""

    def __init__(self, act, after_first_pool=None):
        super().__init__()
        self.act, self.after = act, after_first_pool or (lambda x: x)
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        a = self.act
        x = self.after(F.avg_pool2d(a(self.conv1(x)), 2))
        x = F.avg_pool2d(a(self.conv2(x)), 2).flatten(1)
        return self.fc3(a(self.fc2(a(self.fc1(x)))))


def pixels_to_input(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().unsqueeze(1) / 255.0   # ToTensor


def trained(act, mnist, images: int = 4000) -> TutorialLeNet:
    """Two short epochs on the first `images` training images (above 90 % on MNIST's test images)."""
    torch.manual_seed(0)
    net = TutorialLeNet(act)
    x, y = pixels_to_input(mnist.train.images[:images]), torch.from_numpy(mnist.train.labels[:images]).long()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(2):
        for start in range(0, images, 50):
            optimizer.zero_grad()
            F.cross_entropy(net(x[start:start + 50]), y[start:start + 50]).backward()
            optimizer.step()
    return net.eval()


def export(net, path, dynamo=False):
    if dynamo:
        torch.onnx.export(net, (torch.zeros(2, 1, 28, 28),), str(path), dynamo=True)
    else:
        torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "n"}})
    return path


def import_json(onnx_path, out):
    result = invoke("import", onnx_path, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def relative_difference(path, net, images) -> float:
    model, _ = load_checkpoint(path)
    with torch.no_grad():
        got = model.forward_pixels(torch.from_numpy(images)).double().numpy()
        expected = net(pixels_to_input(images)).double().numpy()
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("act,exporter", [("tanh", "torchscript"), ("sigmoid", "dynamo")])
def test_tutorial_lenet_imports_exactly(tmp_path, test_subset, act, exporter):
    """Random weights (the logits decide): classic, no activation after pooling, C3 fully connected; the
    TorchScript exporter and the dynamo exporter."""
    torch.manual_seed(1)
    net = TutorialLeNet({"tanh": torch.tanh, "sigmoid": torch.sigmoid}[act]).eval()
    onnx_path = export(net, tmp_path / "lenet.onnx", dynamo=exporter == "dynamo")
    out = import_json(onnx_path, tmp_path / "lenet.safetensors")
    assert (out["arch"], out["pool_activation"], out["widths"]) == ("classic", "none", [6, 16, 120, 84])
    model, _ = load_checkpoint(out["checkpoint"])
    assert model.config.pool_activation == "none" and bool(model.c3.mask.all())
    assert relative_difference(out["checkpoint"], net, test_subset.images[:N_IMAGES]) < 1e-5


def test_keras_demo_lenet_via_tf2onnx(tmp_path, test_subset):
    """The Keras demo (tanh, AveragePooling2D, NHWC, Rescaling in the graph; tests/fixtures/make_keras_lenet.py
    `tanh`): the checkpoint gives Keras' own probabilities and onnxruntime's on the file."""
    import onnxruntime as ort

    onnx_path = FIXTURES / "keras_lenet_tanh.onnx"
    expected = np.load(FIXTURES / "keras_lenet_tanh_expected.npz")["probabilities"].astype(np.float64)
    out = import_json(onnx_path, tmp_path / "keras.safetensors")
    assert (out["arch"], out["pool_activation"]) == ("classic", "none")
    images = test_subset.images[:len(expected)]
    model, _ = load_checkpoint(out["checkpoint"])
    with torch.no_grad():
        probabilities = torch.softmax(model.forward_pixels(torch.from_numpy(images)).double(), 1).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    on_file = session.run(None, {session.get_inputs()[0].name: images.astype(np.float32)[..., None]})[0]
    assert np.abs(probabilities - expected).max() < 1e-5 and np.abs(probabilities - on_file).max() < 1e-5
    assert (probabilities.argmax(1) == expected.argmax(1)).all()


def test_an_activation_after_one_pooling_only_is_refused(tmp_path):
    net = TutorialLeNet(torch.tanh, after_first_pool=torch.tanh).eval()
    out = tmp_path / "x.safetensors"
    result = invoke("import", export(net, tmp_path / "mixed.onnx"), "--out", out)
    assert result.exit_code == 2 and "not after the other" in result.stderr and not out.exists()


def test_tutorial_lenet_quantizes_and_validates_bit_exactly(tmp_path, mnist):
    """Trained briefly; quantize -> validate: the C engine equals the reference on every logit, onnxruntime's
    int8 model within one step; the float checkpoint keeps the original's logits."""
    net = trained(torch.tanh, mnist)
    images, labels = mnist.test.images[:N_IMAGES], mnist.test.labels[:N_IMAGES]
    out = import_json(export(net, tmp_path / "lenet.onnx"), tmp_path / "lenet.safetensors")
    assert relative_difference(out["checkpoint"], net, images) < 1e-5
    subset = tmp_path / "mnist_small.npz"
    np.savez(subset, x_train=mnist.train.images[:600], y_train=mnist.train.labels[:600], x_test=images,
             y_test=labels)
    artifact = tmp_path / "lenet.int8"
    result = invoke("quantize", out["checkpoint"], "--data", subset, "--calib-size", "300", "--out", artifact,
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["int8_accuracy"] > 0.9
    # a briefly trained model may lose a few of 300 images to int8: the parity checks are the point here
    result = invoke("validate", artifact, "--data", subset, "--runtimes", "reference,ort-float,ort-int8,c",
                    "--max-accuracy-drop", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["runtimes"]
    assert report["c"]["max_logit_diff"] == 0 and report["c"]["agreement"] == 1.0
    assert report["ort-int8"]["max_logit_diff"] <= 1
