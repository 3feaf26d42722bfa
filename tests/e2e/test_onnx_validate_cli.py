"""export-onnx, validate and predict's ONNX backends through the CLI, as a user or a CI job runs them."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from edgelenet.artifact import load_artifact, save_artifact
from edgelenet.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def damaged_artifact(tmp_path_factory, artifact_path):
    """C1 requantizes 16x too large (shift - 4): saturated activations, accuracy falls far below float."""
    model = load_artifact(artifact_path)
    c1 = model.layer("C1")
    c1.shift = (c1.shift.astype(np.int16) - 4).astype(np.int8)
    return save_artifact(model, tmp_path_factory.mktemp("damaged") / "damaged.safetensors")


def test_export_onnx_writes_both_models_deterministically(tmp_path, artifact_path):
    first = as_json(invoke("export-onnx", artifact_path, "--out", tmp_path / "a", "--json"))
    second = as_json(invoke("export-onnx", artifact_path, "--out", tmp_path / "b", "--json"))
    assert first["opset"] == 21 and len(first["files"]) == 2
    for a, b in zip(first["files"], second["files"]):
        assert open(a, "rb").read() == open(b, "rb").read()
        onnx.checker.check_model(onnx.load(a), full_check=True)
    props = {p.key: p.value for p in onnx.load(first["files"][1]).metadata_props}
    assert props["edgelenet.source_sha256"] == load_artifact(artifact_path).checksum


def test_export_onnx_of_a_checkpoint_is_the_float_model(tmp_path):
    out = as_json(invoke("export-onnx", "modern", "--out", tmp_path, "--json"))
    assert [p.rsplit("/", 1)[-1] for p in out["files"]] == ["modern-float.onnx"] and out["variants"] == ["float"]
    props = {p.key: p.value for p in onnx.load(out["files"][0]).metadata_props}
    assert len(props["edgelenet.source_sha256"]) == 64


def test_validate_passes_on_a_good_artifact_and_writes_junit(tmp_path, artifact_path):
    junit = tmp_path / "parity.xml"
    out = as_json(invoke("validate", artifact_path, "--runtimes", "reference,ort-int8,ort-float", "--limit", "1000",
                         "--junit", junit, "--json"))
    assert out["passed"] and out["n"] == 1000
    assert out["runtimes"]["ort-int8"]["agreement"] >= 0.998 and out["runtimes"]["ort-int8"]["max_logit_diff"] <= 1
    assert set(out["runtimes"]) == {"torch", "reference", "ort-int8", "ort-float"}
    suite = ET.parse(junit).getroot().find("testsuite")
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"torch", "reference", "ort-int8", "ort-float", "ort-int8.agreement", "ort-int8.accuracy_drop",
            "reference.accuracy_drop", "ort-float.float_agreement"} == names
    assert suite.get("failures") == "0"


def test_validate_fails_with_exit_1_on_a_damaged_artifact(tmp_path, damaged_artifact):
    junit = tmp_path / "parity.xml"
    result = invoke("validate", damaged_artifact, "--runtimes", "reference,ort-int8", "--limit", "1000",
                    "--junit", junit, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert not report["passed"]
    failed = {(c["runtime"], c["check"]) for c in report["checks"] if not c["passed"]}
    assert ("reference", "accuracy_drop") in failed and ("ort-int8", "accuracy_drop") in failed
    assert "check failed" in result.stderr and "Traceback" not in result.output
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == str(len(failed))


@pytest.mark.parametrize("args, message", [
    (["validate", "ART", "--runtimes", "reference,tflite"], "unknown runtime 'tflite'"),
    (["validate", "ART", "--runtimes", ","], "--runtimes is empty"),
    (["validate", "ART", "--limit", "0"], "--limit must be at least 1"),
    (["validate", "missing.safetensors"], "not found"),
    (["export-onnx", "missing.safetensors"], "not found"),
    (["predict", "ART", "IMG", "--backend", "tflite"], "unknown runtime 'tflite'"),
    (["validate", "model.onnx"], "is an ONNX model"),
    (["export-onnx", "model.onnx"], "is an ONNX model"),
    (["predict", "model.onnx", "IMG"], "is an ONNX model"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, artifact_path, tmp_path, mnist):
    np.save(tmp_path / "x.npy", mnist.test.images[:2])
    result = invoke(*[{"ART": artifact_path, "IMG": tmp_path / "x.npy"}.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("backend, runtime", [
    ("onnxruntime", "ort-int8"),
    pytest.param("tinygrad", "tinygrad-int8", marks=pytest.mark.slow),  # compiles the model: ~6-15 s
])
def test_predict_onnx_backends_match_the_reference(backend, runtime, tmp_path, artifact_path, mnist):
    np.save(tmp_path / "x.npy", mnist.test.images[:20])
    expected = as_json(invoke("predict", artifact_path, tmp_path / "x.npy", "--json"))
    got = as_json(invoke("predict", artifact_path, tmp_path / "x.npy", "--backend", backend, "--json"))
    assert got["backend"] == runtime and got["predictions"] == expected["predictions"]
    assert np.abs(np.array(got["logits"]) - np.array(expected["logits"])).max() <= 1


def test_predict_float_checkpoint_with_onnxruntime(tmp_path, mnist):
    np.save(tmp_path / "x.npy", mnist.test.images[:10])
    got = as_json(invoke("predict", "modern", tmp_path / "x.npy", "--backend", "onnxruntime", "--json"))
    assert got["backend"] == "ort-float" and got["predictions"] == mnist.test.labels[:10].tolist()


@pytest.mark.slow
def test_validate_all_runtimes_on_the_full_test_set(artifact_path):
    out = as_json(invoke("validate", artifact_path, "--json"))
    assert out["passed"] and out["n"] == 10_000
    for name in ("ort-int8", "tinygrad-int8"):
        assert out["runtimes"][name]["agreement"] >= 0.999 and out["runtimes"][name]["max_logit_diff"] <= 1
    assert out["runtimes"]["c"]["status"] == "ok" and out["runtimes"]["c"]["max_logit_diff"] == 0
    assert out["seconds"] < 120  # 12 s measured for modern on 2 cores; generous for a shared CI machine
