"""The CLI as a user runs it: summary, train, evaluate, quantize, predict, and every error path."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgelenet.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_summary_json_has_the_contract_keys():
    out = as_json(invoke("summary", "--arch", "classic", "--json"))
    assert [l["name"] for l in out["layers"]] == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]
    assert set(out["layers"][0]) >= {"name", "output_shape", "params", "connections", "macs"}
    assert (out["total_params"], out["total_connections"]) == (60_000, 340_908)
    assert {"total_macs"} <= set(out)


def test_short_training_clearly_learns(tmp_path):
    out = as_json(invoke("train", "--arch", "modern", "--epochs", "1", "--limit", "6000", "--out", tmp_path, "--json"))
    assert out["test_accuracy"] > 0.6  # chance is 0.1
    for key in ("checkpoint", "metrics_json", "curves_png"):
        assert os.path.getsize(out[key]) > 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["history"][0]["images_per_second"] > 0
    evaluated = as_json(invoke("evaluate", out["checkpoint"], "--out", tmp_path, "--json"))
    assert evaluated["accuracy"] == pytest.approx(out["test_accuracy"]) and evaluated["n"] == 10_000


def test_same_seed_same_checkpoint_bytes(tmp_path):
    for run in ("a", "b"):
        as_json(invoke("train", "--epochs", "1", "--limit", "1500", "--seed", "7", "--out", tmp_path / run, "--json"))
    assert (tmp_path / "a" / "modern.safetensors").read_bytes() == (tmp_path / "b" / "modern.safetensors").read_bytes()


def test_evaluate_shipped_model_and_confusion_png(tmp_path):
    out = as_json(invoke("evaluate", "modern", "--out", tmp_path, "--json"))
    assert out["accuracy"] >= 0.992 and out["n"] == 10_000
    assert np.array(out["confusion_matrix"]).sum() == 10_000
    assert Image.open(out["confusion_png"]).size[0] > 100


def test_quantize_json_and_predict_backends(tmp_path, mnist):
    art = tmp_path / "m.int8"
    out = as_json(invoke("quantize", "modern", "--calib-size", "200", "--out", art, "--json"))
    assert {"artifact", "float_accuracy", "int8_accuracy"} <= set(out)
    assert abs(out["float_accuracy"] - out["int8_accuracy"]) <= 0.002
    assert [l["layer"] for l in out["layers"]] == ["C1", "C3", "C5", "F6", "OUTPUT"]
    np.save(tmp_path / "x.npy", mnist.test.images[:5])
    Image.fromarray(mnist.test.images[5]).save(tmp_path / "five.png")
    pred = as_json(invoke("predict", art, tmp_path / "x.npy", tmp_path / "five.png", "--json"))
    assert pred["predictions"] == mnist.test.labels[:6].tolist() and len(pred["logits"]) == 6
    float_pred = as_json(invoke("predict", "modern", tmp_path / "x.npy", "--json"))
    assert float_pred["backend"] == "torch" and float_pred["predictions"] == mnist.test.labels[:5].tolist()


def test_quantize_is_deterministic(tmp_path):
    for name in ("a", "b"):
        as_json(invoke("quantize", "classic", "--calib-size", "100", "--out", tmp_path / name, "--json"))
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["summary", "--arch", "lenet7"], "unknown --arch"),
    (["train", "--epochs", "-3"], "--epochs must be at least 1"),
    (["train", "--arch", "modern", "--head", "rbf"], "softmax output only"),
    (["evaluate", "missing.safetensors"], "checkpoint not found"),
    (["quantize", "modern", "--calib-method", "median"], "unknown --calib-method"),
    (["quantize", "modern", "--calib-size", "0"], "--calib-size"),
    (["predict", "modern", "nope.png"], "image file not found"),
    (["predict", "modern", "pyproject.toml"], "not an IDX file"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_leaves_no_output(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}" + b"\x00" * 30)
    out = tmp_path / "art.int8"
    result = invoke("quantize", bad, "--out", out)
    assert result.exit_code == 2 and not out.exists()
    assert list(tmp_path.iterdir()) == [bad]  # no temporary files left behind


def test_module_entry_point_runs_as_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "edgelenet", "summary", "--json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["total_macs"] == 416_520
    proc = subprocess.run([sys.executable, "-m", "edgelenet", "train", "--epochs", "0"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
