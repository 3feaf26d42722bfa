"""`edgelenet import`: LeNets written and exported the ways users do, read back with their own logits.

Each test builds the foreign network in PyTorch (or uses the committed Keras/tf2onnx fixture), imports it
through the CLI, and compares the checkpoint's float logits on real MNIST test images with the original
model's (torch, onnxruntime, or Keras' own outputs).
"""

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

FIXTURES = Path(__file__).parents[1] / "fixtures"
N_IMAGES = 300


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def imported(*args) -> dict:
    result = invoke("import", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class TorchLeNet(nn.Module):
    """The common PyTorch LeNet: C1 padded by 2 on 28x28 ToTensor input, ReLU, max pooling, view, fc."""

    def __init__(self, widths=(6, 16, 120, 84), classes=10):
        super().__init__()
        c1, c3, c5, f6 = widths
        self.conv1, self.conv2 = nn.Conv2d(1, c1, 5, padding=2), nn.Conv2d(c1, c3, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(c3 * 25, c5), nn.Linear(c5, f6), nn.Linear(f6, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def trained_torch_lenet(mean=0.0, std=1.0) -> TorchLeNet:
    """A TorchLeNet reading (pixel/255 - mean)/std that holds the shipped modern checkpoint's weights.

    edgelenet reads x = 0.005 p - 0.1 = 1.275 (std u + mean) - 0.1, so C1 takes W * 1.275 std and
    b + (1.275 mean - 0.1) sum(W); with mean 0 its zero padding is edgelenet's background exactly."""
    model, _ = load_checkpoint("modern")
    state = {k: v.double() for k, v in model.state_dict().items()}
    net = TorchLeNet().double().eval()
    with torch.no_grad():
        w = state["c1.weight"]
        net.conv1.weight.copy_(w * 1.275 * std)
        net.conv1.bias.copy_(state["c1.bias"] + (1.275 * mean - 0.1) * w.sum(dim=(1, 2, 3)))
        net.conv2.weight.copy_(state["c3.weight"]), net.conv2.bias.copy_(state["c3.bias"])
        net.fc1.weight.copy_(state["c5.weight"].reshape(120, -1)), net.fc1.bias.copy_(state["c5.bias"])
        for mine, theirs in ((net.fc2, "f6"), (net.fc3, "output")):
            mine.weight.copy_(state[f"{theirs}.weight"]), mine.bias.copy_(state[f"{theirs}.bias"])
    return net.float()


@pytest.fixture(scope="module")
def images(test_subset):
    return test_subset.images[:N_IMAGES]


def torch_logits(net, images, mean=0.0, std=1.0) -> np.ndarray:
    with torch.no_grad():
        return net((torch.from_numpy(images).float().unsqueeze(1) / 255.0 - mean) / std).double().numpy()


def checkpoint_logits(path, images) -> np.ndarray:
    model, _ = load_checkpoint(path)
    with torch.no_grad():
        return model.forward_pixels(torch.from_numpy(images)).double().numpy()


def ort_logits(path, images, nhwc=False) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = images.astype(np.float32)[..., None] if nhwc else images.astype(np.float32)[:, None] / 255.0
    return session.run(None, {session.get_inputs()[0].name: x})[0].astype(np.float64)


def assert_same_logits(got, expected, rel=1e-5):
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= rel * scale, np.abs(got - expected).max() / scale
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.999


def test_torchscript_export_imports_exactly(tmp_path, images):
    net = trained_torch_lenet()
    onnx_path = tmp_path / "lenet.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), str(onnx_path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "n"}})
    out = imported(onnx_path, "--out", tmp_path / "lenet.safetensors")
    assert (out["arch"], out["background"], out["input_size"]) == ("modern", 0, [28, 28])
    assert [l["name"] for l in out["layers"]] == ["C1", "C3", "C5", "F6", "OUTPUT"]
    got = checkpoint_logits(out["checkpoint"], images)
    assert_same_logits(got, torch_logits(net, images))
    assert_same_logits(got, ort_logits(onnx_path, images))


class SequentialLeNet(nn.Module):
    """Another common style: nn.Sequential with BatchNorm, Dropout, Flatten and log_softmax, other widths."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 12, 5), nn.BatchNorm2d(12), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(300, 48), nn.ReLU(),
                                        nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return F.log_softmax(self.classifier(self.features(x)), dim=1)


def random_sequential_lenet() -> SequentialLeNet:
    torch.manual_seed(1)
    net = SequentialLeNet()
    for bn in (net.features[1], net.features[5]):
        bn.running_mean.uniform_(-0.3, 0.3), bn.running_var.uniform_(0.5, 2.0)
        nn.init.uniform_(bn.weight, 0.5, 1.5), nn.init.uniform_(bn.bias, -0.2, 0.2)
    return net.eval()


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript-unfolded"])
def test_dynamo_export_with_batchnorm_and_other_widths(tmp_path, images, exporter):
    """dynamo folds BatchNorm itself and keeps the weights in seq.onnx.data; the TorchScript exporter without
    constant folding leaves BatchNormalization nodes for the importer to fold."""
    import onnx

    net = random_sequential_lenet()
    onnx_path = tmp_path / "seq.onnx"
    if exporter == "dynamo":
        torch.onnx.export(net, (torch.zeros(2, 1, 28, 28),), str(onnx_path), dynamo=True)
        assert (tmp_path / "seq.onnx.data").is_file()
    else:
        torch.onnx.export(net, (torch.zeros(2, 1, 28, 28),), str(onnx_path), dynamo=False, do_constant_folding=False)
        assert "BatchNormalization" in {n.op_type for n in onnx.load(str(onnx_path)).graph.node}
    out = imported(onnx_path, "--out", tmp_path / "seq.safetensors", "--classes", ",".join("abcdefghij"))
    assert out["widths"] == [8, 12, 48, 32] and out["classes"] == list("abcdefghij")
    assert out["dataset"]["name"] == "unspecified"   # not digits: not taken for an MNIST model
    got = checkpoint_logits(out["checkpoint"], images)
    expected = torch_logits(net, images)   # log_softmax: logits up to one constant per image
    assert_same_logits(got - got.mean(1, keepdims=True), expected - expected.mean(1, keepdims=True))


CLASSIC_ACTS = {"scaled_tanh": lambda a: 1.7159 * torch.tanh(a * (2.0 / 3.0)), "tanh": torch.tanh,
                "sigmoid": torch.sigmoid}


class PaperLeNet(nn.Module):
    """LeNet-5 as in the paper, with any squashing function: an activation after every pooling too."""

    def __init__(self, act, widths=(8, 16, 64, 32)):
        super().__init__()
        c1, c3, c5, f6 = widths
        self.act = act
        self.c1, self.c3, self.c5 = nn.Conv2d(1, c1, 5, padding=2), nn.Conv2d(c1, c3, 5), nn.Conv2d(c3, c5, 5)
        self.f6, self.out = nn.Linear(c5, f6), nn.Linear(f6, 10)

    def forward(self, x):
        a = self.act
        x = a(F.avg_pool2d(a(self.c1(x)), 2))
        x = a(F.avg_pool2d(a(self.c3(x)), 2))
        return self.out(a(self.f6(a(self.c5(x)).flatten(1))))


@pytest.mark.parametrize("act", sorted(CLASSIC_ACTS))
def test_tanh_and_sigmoid_networks_become_classic(tmp_path, images, act):
    torch.manual_seed(2)
    net = PaperLeNet(CLASSIC_ACTS[act]).eval()
    onnx_path = tmp_path / f"{act}.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), str(onnx_path), dynamo=False)
    out = imported(onnx_path, "--out", tmp_path / f"{act}.safetensors", "--mean", "0.2", "--std", "0.5")
    assert out["arch"] == "classic" and out["background"] == 51 and out["background_error"] < 1e-9
    assert_same_logits(checkpoint_logits(out["checkpoint"], images), torch_logits(net, images, 0.2, 0.5))


def test_state_dict_by_shape_and_order_with_normalize(tmp_path, images):
    """MNIST's usual Normalize(0.1307, 0.3081): C1's zero padding is pixel 33.33; the frame becomes 33."""
    net = trained_torch_lenet(0.1307, 0.3081)
    torch.save(net.state_dict(), tmp_path / "lenet.pt")
    result = invoke("import", tmp_path / "lenet.pt", "--out", tmp_path / "sd.safetensors", "--mean", "0.1307",
                    "--std", "0.3081", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["background"] == 33 and abs(out["background_error"] - 0.3285) < 1e-6
    assert "warning" in result.stderr
    got, expected = checkpoint_logits(out["checkpoint"], images), torch_logits(net, images, 0.1307, 0.3081)
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_ambiguous_state_dict_needs_map(tmp_path, images):
    """F6 and OUTPUT are both 10x10: in a file whose order does not chain, only --map can tell them apart."""
    torch.manual_seed(3)
    net = TorchLeNet(widths=(6, 16, 10, 10)).eval()
    state = net.state_dict()
    torch.save({k: state[k] for k in sorted(state, reverse=True)}, tmp_path / "rev.pt")
    result = invoke("import", tmp_path / "rev.pt", "--out", tmp_path / "rev.safetensors")
    assert result.exit_code == 2 and "--map" in result.stderr and not (tmp_path / "rev.safetensors").exists()
    out = imported(tmp_path / "rev.pt", "--out", tmp_path / "rev.safetensors",
                   "--map", "c1=conv1,c3=conv2,c5=fc1,f6=fc2,output=fc3")
    assert [l["source"] for l in out["layers"]] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert_same_logits(checkpoint_logits(out["checkpoint"], images), torch_logits(net, images))
    swapped = imported(tmp_path / "rev.pt", "--out", tmp_path / "swap.safetensors",
                       "--map", "c1=conv1,c3=conv2,c5=fc1,f6=fc3,output=fc2")
    assert not np.allclose(checkpoint_logits(swapped["checkpoint"], images), torch_logits(net, images), atol=1e-3)


def test_keras_lenet_via_tf2onnx(tmp_path, images):
    """NHWC input with Rescaling(1/255) in the graph, a Reshape instead of a Transpose, Flatten over NHWC."""
    onnx_path = FIXTURES / "keras_lenet.onnx"
    expected = np.load(FIXTURES / "keras_lenet_expected.npz")["probabilities"].astype(np.float64)
    out = imported(onnx_path, "--out", tmp_path / "keras.safetensors")
    assert out["normalization"]["in_graph"] and out["normalization"]["scale"] == 1.0
    logits = checkpoint_logits(out["checkpoint"], images[:len(expected)])
    probabilities = torch.softmax(torch.from_numpy(logits), 1).numpy()
    assert np.abs(probabilities - expected).max() < 1e-5
    assert np.abs(probabilities - ort_logits(onnx_path, images[:len(expected)], nhwc=True)).max() < 1e-5
    assert (expected.argmax(1) == logits.argmax(1)).all()


def test_imported_model_quantizes_and_validates(tmp_path, mnist, images):
    """quantize -> validate run on an imported checkpoint unchanged (a small MNIST subset as --data)."""
    net = trained_torch_lenet()
    torch.save(net.state_dict(), tmp_path / "lenet.pt")
    out = imported(tmp_path / "lenet.pt", "--out", tmp_path / "lenet.safetensors")
    subset = tmp_path / "mnist_small.npz"
    np.savez(subset, x_train=mnist.train.images[:600], y_train=mnist.train.labels[:600], x_test=images,
             y_test=mnist.test.labels[:len(images)])
    artifact = tmp_path / "lenet.int8"
    result = invoke("quantize", out["checkpoint"], "--data", subset, "--calib-size", "200", "--out", artifact,
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["int8_accuracy"] > 0.98
    result = invoke("validate", artifact, "--data", subset, "--runtimes", "reference,ort-float,ort-int8", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["n"] == len(images) and report["runtimes"]["ort-int8"]["accuracy"] > 0.98


class UnpaddedLeNet(TorchLeNet):
    """32x32 input, C1 without padding: the LeNet-5 field itself."""

    def __init__(self, widths, classes):
        super().__init__(widths, classes)
        self.conv1.padding = (0, 0)


def test_other_data_set_geometry_and_classes(tmp_path, test_subset):
    """A 3-class model on 32x32 images: --data records the set, its class names become the classes."""
    keep = np.isin(test_subset.labels, [0, 1, 2])
    pictures = np.pad(test_subset.images[keep][:200], ((0, 0), (2, 2), (2, 2)))   # 32x32
    np.savez(tmp_path / "three.npz", x_test=pictures, y_test=test_subset.labels[keep][:200],
             classes=np.array(["zero", "one", "two"]))
    torch.manual_seed(4)
    net = UnpaddedLeNet((8, 12, 48, 32), 3).eval()
    torch.onnx.export(net, (torch.zeros(1, 1, 32, 32),), str(tmp_path / "three.onnx"), dynamo=False)
    out = imported(tmp_path / "three.onnx", "--out", tmp_path / "three.safetensors", "--data", tmp_path / "three.npz")
    assert (out["classes"], out["input_size"], out["widths"]) == (["zero", "one", "two"], [32, 32], [8, 12, 48, 32])
    assert out["dataset"]["name"] == "three"
    assert_same_logits(checkpoint_logits(out["checkpoint"], pictures), torch_logits(net, pictures))
    again = imported(tmp_path / "three.onnx", "--out", tmp_path / "again.safetensors", "--data", tmp_path / "three.npz")
    assert Path(again["checkpoint"]).read_bytes() == Path(out["checkpoint"]).read_bytes()   # reproducible
    ordered = imported(tmp_path / "three.onnx", "--out", tmp_path / "ordered.safetensors", "--data",
                       tmp_path / "three.npz", "--classes", "one,two,zero")   # the model's output order
    assert ordered["classes"] == ["zero", "one", "two"] and ordered["output_order"] == [2, 0, 1]
    assert_same_logits(checkpoint_logits(ordered["checkpoint"], pictures), torch_logits(net, pictures)[:, [2, 0, 1]])
    result = invoke("import", tmp_path / "three.onnx", "--out", tmp_path / "x.safetensors", "--data",
                    tmp_path / "three.npz", "--classes", "zero,one,three")
    assert result.exit_code == 2 and "data set's classes" in result.stderr


class InGraphNormalize(TorchLeNet):
    """Normalization inside forward(): ToTensor input, (u - 0.1307) / 0.3081 as Sub and Div in the graph."""

    def forward(self, x):
        return super().forward((x - 0.1307) / 0.3081)


def test_state_dict_batchnorm_and_in_graph_normalization(tmp_path, images):
    net = random_sequential_lenet()
    torch.save(net.state_dict(), tmp_path / "seq.pt")
    out = imported(tmp_path / "seq.pt", "--out", tmp_path / "seq.safetensors")
    assert any("BatchNorm" in note for note in out["notes"])
    got, expected = checkpoint_logits(out["checkpoint"], images), torch_logits(net, images)
    assert_same_logits(got - got.mean(1, keepdims=True), expected - expected.mean(1, keepdims=True))

    inner = InGraphNormalize()
    inner.load_state_dict(trained_torch_lenet(0.1307, 0.3081).state_dict())
    torch.onnx.export(inner.eval(), (torch.zeros(1, 1, 28, 28),), str(tmp_path / "norm.onnx"), dynamo=False)
    out = imported(tmp_path / "norm.onnx", "--out", tmp_path / "norm.safetensors")
    assert out["normalization"]["in_graph"] and out["background"] == 33
    got, expected = checkpoint_logits(out["checkpoint"], images), torch_logits(inner, images)
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()
