"""Two public image sets that ship inside PyPI packages, end to end: train -> quantize -> validate ->
export-onnx -> export-c -> the C engine on the host and on an emulated Cortex-M4, bit-exact.

- scikit-learn's digits: 8x8 images (not 28x28), 10 classes, as an .npz, through `edgelenet run --data`;
- scikit-image's LFW subset: 25x25 faces versus background crops, 2 classes, as PNG class folders,
  through the individual commands, with a narrower network (widths 4,12,64,32).
Both are written by scripts/public_datasets.py (reads the packages' data files only; no pickle).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from edgelenet.artifact import load_artifact
from edgelenet.cli import app
from edgelenet.datasets import load_dataset
from edgelenet.pipeline import run_c_host, run_c_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import public_datasets  # noqa: E402

pytestmark = pytest.mark.slow


def ok(*args) -> dict:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_digits_8x8_through_edgelenet_run(tmp_path, host_cc, qemu):
    data = public_datasets.write_digits_npz(tmp_path / "digits.npz")
    out = tmp_path / "out"
    report = ok("run", "--data", data, "--out", out, "--epochs", "4", "--json")
    assert report["train"]["data"]["input_size"] == [8, 8] and report["train"]["classes"] == [str(d) for d in range(10)]
    assert report["evaluate"]["accuracy"] > 0.8 and report["evaluate"]["n"] == 450   # chance: 0.1
    assert report["validate"]["passed"] and report["validate"]["data"]["name"] == "digits"
    assert abs(report["quantize"]["float_accuracy"] - report["quantize"]["int8_accuracy"]) <= 0.01
    assert report["c_host"]["identical_to_reference"] is True
    assert report["c_target"]["status"] == "ok" and report["c_target"]["identical_to_reference"] is True
    assert "#define LENET5_INPUT_HEIGHT   8" in (out / "c" / "lenet5.h").read_text()
    model = onnx.load(out / "onnx" / "modern-int8.onnx")
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [1, 8, 8] and "digits" in (out / "report.md").read_text()


def test_faces_25x25_two_classes_through_the_commands(tmp_path, host_cc, qemu):
    data = public_datasets.write_faces_folder(tmp_path / "faces")
    trained = ok("train", "--data", data, "--epochs", "12", "--widths", "4,12,64,32", "--out", tmp_path / "train",
                 "--json")
    assert trained["classes"] == ["face", "background"] and trained["data"]["input_size"] == [25, 25]
    assert trained["test_accuracy"] > 0.75   # chance: 0.5
    art = tmp_path / "faces-int8.safetensors"
    q = ok("quantize", trained["checkpoint"], "--data", data, "--out", art, "--json")
    assert q["n"] == 50 and abs(q["float_accuracy"] - q["int8_accuracy"]) <= 0.04
    v = ok("validate", art, "--data", data, "--json")
    assert v["passed"] and v["runtimes"]["c"]["max_logit_diff"] == 0
    files = ok("export-onnx", art, "--out", tmp_path / "onnx", "--json")["files"]
    outputs = onnx.load(files[1]).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in outputs][1:] == [2]
    c = ok("export-c", art, "--out", tmp_path / "c", "--json")
    header = (tmp_path / "c" / "lenet5.h").read_text()
    assert "#define LENET5_NUM_CLASSES    2" in header and c["total_macs"] > 0
    assert '"face", "background",' in (tmp_path / "c" / "lenet5.c").read_text()
    model, images = load_artifact(art), load_dataset(data).test.images[:20]
    assert run_c_host(model, images, tmp_path / "c")["identical_to_reference"] is True
    m4 = run_c_target(model, images, tmp_path / "c", "qemu-m4")
    assert m4["status"] == "ok" and m4["identical_to_reference"] is True
