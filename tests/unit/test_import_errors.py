"""`edgelenet import` refuses what it cannot represent exactly: one error line naming the op or shape, exit 2,
no traceback, no file written."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

from edgelenet.cli import app


class Variant(nn.Module):
    """A LeNet whose parts the tests replace one at a time."""

    def __init__(self, c1=None, pool=F.max_pool2d, act=F.relu, act_after_pool=None, extra=False, channels=1,
                 c3_width=16, fc1_in=400):
        super().__init__()
        self.c1 = c1 or nn.Conv2d(channels, 6, 5, padding=2)
        self.c3, self.fc1 = nn.Conv2d(6, c3_width, 5), nn.Linear(fc1_in, 120)
        self.fc2, self.fc3, self.fc4 = nn.Linear(120, 84), nn.Linear(84, 10), nn.Linear(10, 10)
        self.pool, self.act, self.after, self.extra = pool, act, act_after_pool or (lambda x: x), extra

    def forward(self, x):
        x = self.after(self.pool(self.act(self.c1(x)), 2))
        x = self.after(self.pool(self.act(self.c3(x)), 2)).flatten(1)
        x = self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))
        return self.fc4(self.act(x)) if self.extra else x


def residual_forward(self, x):
    return self.c1(x) + self.c1(x)


CASES = {
    "kernel3": (dict(c1=nn.Conv2d(1, 6, 3, padding=1)), (1, 1, 28, 28), "C1 needs a weight of shape (N, 1, 5, 5)"),
    "stride2": (dict(c1=nn.Conv2d(1, 6, 5, stride=2, padding=2), fc1_in=16), (1, 1, 28, 28), "strides"),
    "relu_avgpool": (dict(pool=F.avg_pool2d), (1, 1, 28, 28), "AveragePool"),
    "leaky": (dict(act=F.leaky_relu), (1, 1, 28, 28), "unsupported ONNX op LeakyRelu"),
    "rgb": (dict(channels=3), (1, 3, 28, 28), "input shape 1x3x28x28"),
    "extra_layer": (dict(extra=True), (1, 1, 28, 28), "after the output layer"),
    "full_c3_classic": (dict(act=torch.tanh, pool=F.avg_pool2d, act_after_pool=torch.tanh), (1, 1, 28, 28),
                        "partial connection table"),
    "field36": (dict(fc1_in=576), (1, 1, 32, 32), "input 32x32 with C1 padding 2"),
}


def run_import(*args):
    return CliRunner().invoke(app, ["import", *[str(a) for a in args]])


def assert_refused(result, out, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert fragment in result.stderr.replace("\n", " "), result.stderr
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_unsupported_networks_are_named(tmp_path, case):
    kwargs, shape, fragment = CASES[case]
    torch.manual_seed(0)
    path = tmp_path / f"{case}.onnx"
    torch.onnx.export(Variant(**kwargs).eval(), (torch.zeros(shape),), str(path), dynamo=False)
    assert_refused(run_import(path, "--out", tmp_path / "x.safetensors"), tmp_path / "x.safetensors", fragment)


def test_residual_graph_is_not_a_chain(tmp_path):
    net = Variant().eval()
    net.forward = residual_forward.__get__(net)
    path = tmp_path / "res.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False)
    assert_refused(run_import(path, "--out", tmp_path / "x.safetensors"), tmp_path / "x.safetensors", "Add")


def _good_onnx(tmp_path):
    path = tmp_path / "good.onnx"
    torch.onnx.export(Variant().eval(), (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False)
    return path


def test_external_data_outside_the_model_folder_is_refused(tmp_path):
    import onnx

    model = onnx.load(str(_good_onnx(tmp_path)))
    tensor = model.graph.initializer[0]
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    path = tmp_path / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    out = tmp_path / "x.safetensors"
    assert_refused(run_import(path, "--out", out), out, "must be a file beside the model")


@pytest.mark.parametrize("content,fragment", [(b"\x08\x07garbage" * 10, "not an ONNX model"),
                                              (None, "larger than any LeNet-5-family model")])
def test_bad_files(tmp_path, content, fragment):
    path = tmp_path / "bad.onnx"
    if content is None:
        with open(path, "wb") as handle:   # sparse: 65 MB without writing them
            handle.truncate(65 << 20)
    else:
        path.write_bytes(content)
    out = tmp_path / "x.safetensors"
    assert_refused(run_import(path, "--out", out), out, fragment)


def test_state_dict_errors(tmp_path):
    out = tmp_path / "x.safetensors"
    torch.save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "module.pt")   # a pickled module, not a state dict
    assert_refused(run_import(tmp_path / "module.pt", "--out", out), out, "weights_only=True")
    torch.save(Variant(extra=True).state_dict(), tmp_path / "six.pt")
    assert_refused(run_import(tmp_path / "six.pt", "--out", out), out, "6 weight layers")
    state = Variant().state_dict()
    state.pop("fc4.weight"), state.pop("fc4.bias")
    torch.save(state, tmp_path / "sd.pt")
    assert_refused(run_import(tmp_path / "sd.pt", "--out", out, "--map", "c1=c1,c3=c3"), out, "all of c1")
    assert_refused(run_import(tmp_path / "sd.pt", "--out", out, "--classes", "a,b,c"), out, "3 class names")
    assert_refused(run_import(tmp_path / "sd.pt", "--out", out, "--mean", "0.1"), out, "--mean with --std")
    assert_refused(run_import(tmp_path / "sd.pt", "--out", out, "--mean", "2", "--std", "1"), out, "outside 0..255")
    broken = [("fc2.bias", torch.zeros(5, 1, 16), "fc2.bias must hold 84 float values"),
              ("fc2.weight", torch.zeros(84, 120, dtype=torch.complex64), "is not a convolution"),
              ("bn.running_mean", torch.zeros(6), "bn.running_var must hold 6 float values")]
    for name, value, fragment in broken:
        torch.save({**state, name: value}, tmp_path / "broken.pt")
        assert_refused(run_import(tmp_path / "broken.pt", "--out", out), out, fragment)


def test_model_for_other_data_is_not_measured_on_mnist(tmp_path):
    """Without --data, a 3-class import records an unspecified data set: evaluate asks for --data."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                        nn.ReLU(), nn.Linear(84, 3))
    torch.save(net.state_dict(), tmp_path / "three.pt")
    result = run_import(tmp_path / "three.pt", "--out", tmp_path / "three.safetensors", "--classes", "a,b,c",
                        "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dataset"]["name"] == "unspecified"
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "three.safetensors"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--data" in result.stderr and "unspecified" in result.stderr


def test_self_check_stops_a_wrong_fold(tmp_path, monkeypatch):
    """The import compares its checkpoint with the unfolded network; a broken fold writes nothing."""
    from edgelenet.importer import build

    real = build.fold_input

    def wrong_fold(state, *args):   # forgets part of the normalization's shift
        result = real(state, *args)
        state["c1.bias"] = state["c1.bias"] + 0.1
        return result
    monkeypatch.setattr(build, "fold_input", wrong_fold)
    out = tmp_path / "x.safetensors"
    assert_refused(run_import(_good_onnx(tmp_path), "--out", out), out, "differ from the file's")


@pytest.mark.parametrize("kind", ["onnx", "state_dict"])
def test_corrupted_files_give_user_errors_only(tmp_path, kind):
    """Truncated and bit-flipped files: a clean UserError (or a valid import), never another exception."""
    import numpy as np

    from edgelenet.errors import UserError
    from edgelenet.importer import import_model

    source = _good_onnx(tmp_path) if kind == "onnx" else tmp_path / "sd.pt"
    if kind == "state_dict":
        state = Variant().state_dict()
        state.pop("fc4.weight"), state.pop("fc4.bias")
        torch.save(state, source)
    good, rng = source.read_bytes(), np.random.default_rng(0)
    for trial in range(25):
        data = bytearray(good[:rng.integers(1, len(good))] if trial % 2 else good)
        for _ in range(0 if trial % 2 else rng.integers(1, 20)):
            data[rng.integers(len(data))] = rng.integers(256)
        path = tmp_path / f"bad{source.suffix}"
        path.write_bytes(bytes(data))
        try:
            import_model(path, tmp_path / "out.safetensors")
        except UserError:
            pass
