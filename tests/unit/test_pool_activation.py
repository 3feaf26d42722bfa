"""The classic variant's pool activation: "squash" after S2/S4 (the paper; files without the key) or "none"
(the tutorial LeNet). Model, checkpoint and artifact metadata, the validating reader, the quantizer and both
ONNX exports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from edgelenet import reference
from edgelenet.artifact import artifact_bytes, load_artifact
from edgelenet.checkpoint import checkpoint_bytes, load_checkpoint
from edgelenet.errors import UserError
from edgelenet.family import ModelConfig
from edgelenet.model import build_model, float_model_of, logits_numpy
from edgelenet.onnx_export import checkpoint_float_proto, int8_model_proto
from edgelenet.quantize import quantize_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from crafted import edited  # noqa: E402


@pytest.fixture(scope="module")
def linear_pair(mnist):
    """A classic model with pool activation none (paper-initialised, random) and its int8 artifact."""
    torch.manual_seed(5)
    model = build_model("classic", widths=(6, 16, 120, 84), pool_activation="none").eval()
    qmodel, _ = quantize_model(model, mnist.train.images[:300])
    return model, qmodel


def test_config_checks_the_pool_activation():
    assert ModelConfig("classic").pool_activation == "squash" and ModelConfig("classic").c3_table
    assert not ModelConfig("classic", pool_activation="none").c3_table   # the tutorial LeNet: full C3
    with pytest.raises(UserError, match="choose one of squash, none"):
        ModelConfig("classic", pool_activation="relu")
    with pytest.raises(UserError, match="classic variant"):
        ModelConfig("modern", pool_activation="none")


def test_summary_counts_the_tutorial_lenet():
    """`summary --pool-activation none`: C3 fully connected (6 x 16 kernels), no squash after S2/S4."""
    from typer.testing import CliRunner

    from edgelenet.cli import app

    result = CliRunner().invoke(app, ["summary", "--arch", "classic", "--pool-activation", "none", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = {row["name"]: row for row in out["layers"]}
    assert out["pool_activation"] == "none" and out["head"] == "softmax"
    assert rows["C3"]["params"] == 16 * 6 * 25 + 16 and rows["S2"]["kind"] == "subsampling 2x2, no activation"
    bad = CliRunner().invoke(app, ["summary", "--arch", "modern", "--pool-activation", "none"])
    assert bad.exit_code == 2 and "classic variant" in bad.stderr


def test_train_makes_the_tutorial_lenet(tmp_path):
    from typer.testing import CliRunner

    from edgelenet.cli import app

    result = CliRunner().invoke(app, ["train", "--arch", "classic", "--pool-activation", "none", "--epochs", "1",
                                      "--limit", "256", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    model, training = load_checkpoint(json.loads(result.stdout)["checkpoint"])
    assert model.config.pool_activation == "none" and training["config"]["pool_activation"] == "none"


def test_subsampling_feeds_the_next_layer_directly():
    torch.manual_seed(0)
    model = build_model("classic", pool_activation="none").eval()
    record = {}
    x = torch.rand(2, 1, 32, 32)
    model(x, record)
    assert "s2.pre" not in record and "s4.pre" not in record
    with torch.no_grad():
        s2 = model.s2(record["c1.out"])
    torch.testing.assert_close(record["s2.out"], s2)
    assert bool(model.c3.mask.all())


def test_paper_files_are_unchanged(classic_int8):
    """The default writes no key: the shipped checkpoint's bytes and a classic artifact's metadata."""
    model, _ = load_checkpoint("classic")
    assert model.config.pool_activation == "squash"
    assert b"pool_activation" not in checkpoint_bytes(model) and b"pool_activation" not in artifact_bytes(classic_int8)


def test_checkpoint_and_artifact_round_trip(tmp_path, linear_pair, test_subset):
    model, qmodel = linear_pair
    path = tmp_path / "linear.safetensors"
    path.write_bytes(checkpoint_bytes(model))
    loaded, _ = load_checkpoint(path)
    assert loaded.config.pool_activation == "none"
    images = test_subset.images[:50]
    np.testing.assert_array_equal(logits_numpy(loaded, images), logits_numpy(model, images))
    assert [(l.name, l.activation) for l in qmodel.layers[:4]] == [("C1", "tanh"), ("S2", "none"),
                                                                   ("C3", "tanh"), ("S4", "none")]
    assert qmodel.layer("S2").lut is None and qmodel.layer("S2").pre is None
    path = tmp_path / "linear.int8"
    path.write_bytes(artifact_bytes(qmodel))
    again = load_artifact(path)
    assert again.pool_activation == "none" and float_model_of(again).config.pool_activation == "none"
    np.testing.assert_array_equal(reference.predict(again, images)[1], reference.predict(qmodel, images)[1])


def _set_pool_activation(value):
    def edit(body, tensors):
        if value is None:
            body.pop("pool_activation", None)
        else:
            body["pool_activation"] = value
    return edit


@pytest.mark.parametrize("value,pattern", [("relu", "pool_activation must be one of squash, none"),
                                           (None, "activation must be 'tanh'"),
                                           ("squash", "activation must be 'tanh'")])
def test_reader_checks_the_key_against_the_layers(tmp_path, linear_pair, value, pattern):
    path = tmp_path / "bad.int8"
    path.write_bytes(edited(artifact_bytes(linear_pair[1]), _set_pool_activation(value)))
    with pytest.raises(UserError, match=pattern):
        load_artifact(path)


def test_reader_refuses_none_on_modern(tmp_path, modern_int8):
    path = tmp_path / "bad.int8"
    path.write_bytes(edited(artifact_bytes(modern_int8), _set_pool_activation("none")))
    with pytest.raises(UserError, match="classic variant only"):
        load_artifact(path)


def test_onnx_exports_without_tanh_after_subsampling(linear_pair, test_subset):
    """Float ONNX = the torch model; int8 ONNX within one int8 step of the reference; no S2/S4 table."""
    model, qmodel = linear_pair
    images = test_subset.images[:100]
    pixels = images[:, None]
    float_proto, int8_proto = checkpoint_float_proto(model, "m", "0" * 64), int8_model_proto(qmodel, "m")
    assert not [n.name for n in int8_proto.graph.node if n.name.startswith(("S2/", "S4/")) and "lut" in n.name]
    assert not [n.name for n in float_proto.graph.node if n.name.startswith(("S2/", "S4/")) and "tanh" in n.name]
    run = lambda proto: ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"pixels": pixels})[0]  # noqa: E731
    np.testing.assert_allclose(run(float_proto), logits_numpy(model, images), rtol=1e-4, atol=1e-4)
    diff = np.abs(run(int8_proto).astype(np.int32) - reference.predict(qmodel, images)[1].astype(np.int32))
    assert diff.max() <= 1
