"""`edgelenet run` end to end on a tiny configuration: every promised file exists and is what it says."""

import json

import onnx
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgelenet.artifact import load_artifact
from edgelenet.checkpoint import load_checkpoint
from edgelenet.cli import app

pytestmark = pytest.mark.slow


def test_run_tiny_pipeline_writes_every_promised_file(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--epochs", "2", "--limit", "12000",
                                      "--validate-limit", "400", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["validate"]["passed"]
    promised = ["report.md", "report.json", "train/modern.safetensors", "train/metrics.json", "train/training.png",
                "confusion_modern.png", "quantization_error.png", "modern-int8.safetensors", "validate.json",
                "validate.xml", "onnx/modern-float.onnx", "onnx/modern-int8.onnx", "c/lenet5.h", "c/lenet5.c",
                "c/lenet5_weights.h", "c/example/main.c", "c/example/Makefile", "c/example/CMakeLists.txt"]
    for name in promised:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
        assert name in report["files"], name
    assert set(report["files"]) == {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    for png in ("train/training.png", "confusion_modern.png", "quantization_error.png"):
        assert Image.open(out / png).format == "PNG"
    load_checkpoint(out / "train" / "modern.safetensors")
    assert load_artifact(out / "modern-int8.safetensors").arch == "modern"
    onnx.checker.check_model(onnx.load(out / "onnx" / "modern-int8.onnx"), full_check=True)
    assert report["c_host"]["identical_to_reference"] is True
    m4 = report["c_target"]
    assert (m4["target"], m4["core"], m4["board"]) == ("qemu-m4", "cortex-m4", "mps2-an386")
    assert m4["status"] == "ok", m4
    assert m4["identical_to_reference"] and m4["instructions_per_inference"] > 0
    markdown = (out / "report.md").read_text()
    assert "C engine on the host" in markdown and "scratch RAM" in markdown


def test_run_from_the_shipped_model_reuses_it(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--model", "classic", "--validate-limit", "300",
                                      "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["validate"]["passed"]
    assert report["train"]["trained_in_this_run"] is False
    assert not (out / "train").exists() and (out / "classic-int8.safetensors").is_file()
    assert report["export_c"]["scratch_bytes"] <= 2048
