"""The CLI on the user's own data: small sets train, models carry their data set, and no command measures a
model on data it was not made for (exit 2, one line), MNIST included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgelenet.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def _bars(count: int, size, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A learnable 3-class toy set: a horizontal bar, a vertical bar, or a blank image, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 3
    images = rng.integers(0, 60, (count, *size), dtype=np.uint8)
    h, w = size
    images[labels == 0, h // 2 - 1:h // 2 + 1, :] = 250
    images[labels == 1, :, w // 2 - 1:w // 2 + 1] = 250
    return images, labels


@pytest.fixture(scope="module")
def bars(tmp_path_factory) -> Path:
    """50 training images (the issue's small set) of 12x10 pixels, 30 test images, named classes."""
    path = tmp_path_factory.mktemp("bars") / "bars.npz"
    x_train, y_train = _bars(50, (12, 10), 0)
    x_test, y_test = _bars(30, (12, 10), 1)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             classes=np.array(["row", "column", "blank"]))
    return path


@pytest.fixture(scope="module")
def trained(bars, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("train")
    return ok(invoke("train", "--data", bars, "--epochs", "8", "--widths", "4,8,24,16", "--out", out, "--json"))


def test_fifty_images_train_and_the_model_records_its_data(trained):
    assert trained["n_train"] + trained["n_valid"] == 50 and trained["n_valid"] == 5
    assert trained["classes"] == ["row", "column", "blank"] and trained["widths"] == [4, 8, 24, 16]
    assert trained["data"]["name"] == "bars" and trained["data"]["input_size"] == [12, 10]
    assert trained["test_accuracy"] > 0.6   # chance is 1/3
    assert trained["total_macs"] > 0 and trained["int8_weight_bytes"] > 0


def test_quantize_validate_predict_on_own_data(trained, bars, tmp_path):
    art = tmp_path / "bars-int8.safetensors"
    q = ok(invoke("quantize", trained["checkpoint"], "--data", bars, "--out", art, "--json"))
    assert q["n"] == 30 and q["data"]["name"] == "bars" and q["calibration"]["source"] == "bars-train"
    junit = tmp_path / "v.xml"
    v = ok(invoke("validate", art, "--data", bars, "--runtimes", "torch,reference,ort-int8", "--junit", junit,
                  "--json"))
    assert v["passed"] and v["data"]["name"] == "bars" and v["classes"] == ["row", "column", "blank"]
    assert 'name="data.name" value="bars"' in junit.read_text()
    np.save(tmp_path / "two.npy", _bars(2, (12, 10), 5)[0])
    p = ok(invoke("predict", art, tmp_path / "two.npy", "--json"))
    assert p["labels"] == [["row", "column", "blank"][i] for i in p["predictions"]]
    e = ok(invoke("evaluate", trained["checkpoint"], "--data-dir", bars, "--out", tmp_path, "--json"))  # the alias
    assert len(e["confusion_matrix"]) == 3 and e["data"]["fingerprint"] == v["data"]["fingerprint"]


def test_no_silent_fallback_to_mnist(trained, bars, tmp_path):
    for command in (["evaluate", trained["checkpoint"]], ["quantize", trained["checkpoint"], "--out", tmp_path / "a"]):
        refused(invoke(*command), "not MNIST: pass --data PATH")
    assert not (tmp_path / "a").exists()


def test_mismatched_classes_or_geometry_are_refused(trained, bars, tmp_path):
    refused(invoke("evaluate", "modern", "--data", bars), "has classes [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]")
    x, y = _bars(9, (12, 11), 2)
    np.savez(tmp_path / "wide.npz", x_test=x, y_test=y, classes=np.array(["row", "column", "blank"]))
    refused(invoke("evaluate", trained["checkpoint"], "--data", tmp_path / "wide.npz"), "takes 12x10 images")
    np.save(tmp_path / "wide.npy", x)
    refused(invoke("predict", trained["checkpoint"], tmp_path / "wide.npy"), "takes 10x12 images")


@pytest.mark.parametrize("args, message", [
    (["train", "--widths", "6,16,120"], "--widths"),
    (["train", "--widths", "6,99,120,84"], "width of C3"),
    (["train", "--augment", "heavy"], "unknown --augment"),
    (["train", "--data", "no/such/dir"], "no such file or folder"),
    (["summary", "--classes", "1"], "2..100"),
])
def test_bad_options_are_one_line(args, message):
    refused(invoke(*args), message)


def test_summary_of_a_family_member():
    out = ok(invoke("summary", "--widths", "4,8,32,16", "--classes", "3", "--json"))
    assert out["layers"][-1]["output_shape"] == [3] and out["widths"] == [4, 8, 32, 16]
    paper = ok(invoke("summary", "--json"))
    assert out["total_macs"] < paper["total_macs"] and out["int8_weight_bytes"] < paper["int8_weight_bytes"]
