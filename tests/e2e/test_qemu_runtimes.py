"""`validate --runtimes qemu-m0 ... qemu-m55`: the C engine cross-compiled for the core and run under QEMU,
the images streamed in through semihosting, every logit compared with the reference; the report gives the
core, the instructions per inference and the images compared. (CI runs qemu-m4 on all 10,000 test images:
.ci/run.)"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from edgelenet import reference, runtime_registry
from edgelenet.parity import Thresholds, junit_xml, run_parity
from firmware_export import build
from firmware_export.c_runtimes import QemuRuntime

pytestmark = pytest.mark.slow
IMAGES = 120  # more than one driver chunk on the micro:bit (5 images)


def test_runtime_names_cover_the_board_matrix():
    assert set(runtime_registry.QEMU_RUNTIMES) == set(build.QEMU_RUNTIMES) <= set(runtime_registry.RUNTIMES)
    assert all(build.QEMU_RUNTIMES[name] in build.CPU_FLAGS for name in build.QEMU_RUNTIMES)


@pytest.mark.parametrize("name", ["qemu-m0", "qemu-m55"])
def test_validate_on_an_emulated_core_is_bit_exact_and_reports_the_core(qemu, modern_int8, test_subset, name):
    images, labels = test_subset.images[:IMAGES], test_subset.labels[:IMAGES]
    report = run_parity(modern_int8, images, labels, [name], Thresholds(max_accuracy_drop=100))
    info = report["runtimes"][name]
    assert report["passed"] and info["status"] == "ok", report
    assert info["max_logit_diff"] == 0 and info["agreement"] == 1.0 and info["images"] == IMAGES
    assert info["core"] == build.QEMU_RUNTIMES[name] and info["board"] == build.CORE_BOARD[info["core"]]
    assert info["instructions_per_inference"] > 100_000
    case = ET.fromstring(junit_xml(report)).find(f".//testcase[@name='{name}']")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties == {"images": str(IMAGES), "core": info["core"], "board": info["board"],
                          "instructions_per_inference": str(info["instructions_per_inference"])}


def test_a_wrong_engine_on_the_target_fails_validation(qemu, modern_int8, test_subset, mutant_engine, monkeypatch,
                                                        tmp_path):
    """The comparison sees the target's own output: an engine off by one on class 3 fails the check."""
    class Broken(QemuRuntime):
        def __init__(self, model, name):
            super().__init__(model, name)
            mutant = mutant_engine(tmp_path / "mutant.c", infer="logits[3] = (int8_t)(logits[3] > -128 ? logits[3] - 1 : 0);")
            self._elf = build.build_arm_example(self._out, self.board, tmp_path / "broken.elf", ["-DELN_CHUNK=64"],
                                                cpu=self.cpu, sources=[mutant], main=self._work / "qemu_batch.c")

    monkeypatch.setitem(runtime_registry.RUNTIMES, "qemu-m4", lambda model: Broken(model, "qemu-m4"))
    report = run_parity(modern_int8, test_subset.images[:40], test_subset.labels[:40], ["qemu-m4"],
                        Thresholds(max_accuracy_drop=100))
    assert not report["passed"] and report["runtimes"]["qemu-m4"]["max_logit_diff"] == 1


def test_run_refuses_an_unknown_target(tmp_path):
    from typer.testing import CliRunner

    from edgelenet.cli import app

    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "out"), "--target", "qemu-m99"])
    assert result.exit_code == 2 and "unknown --target 'qemu-m99'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_fault_on_the_target_fails_validation_with_its_reason(qemu, modern_int8, test_subset, mutant_engine,
                                                                 monkeypatch, tmp_path):
    class Faulting(QemuRuntime):
        def __init__(self, model, name):
            super().__init__(model, name)
            odd = "{ const volatile uint32_t *p = (const volatile uint32_t *)((uintptr_t)scratch + 1u); (void)*p; }"
            self._elf = build.build_arm_example(self._out, self.board, tmp_path / "fault.elf", cpu=self.cpu,
                                                sources=[mutant_engine(tmp_path / "mutant.c", before=odd)],
                                                main=self._work / "qemu_batch.c")

    monkeypatch.setitem(runtime_registry.RUNTIMES, "qemu-m4", lambda model: Faulting(model, "qemu-m4"))
    report = run_parity(modern_int8, test_subset.images[:10], test_subset.labels[:10], ["qemu-m4"], Thresholds())
    info = report["runtimes"]["qemu-m4"]
    assert not report["passed"] and info["status"] == "skipped" and "FAULT pc" in info["reason"]


def test_qemu_runtime_follows_the_models_geometry_and_classes(qemu):
    """A 12-class model of 64x48 images on the micro:bit's Cortex-M0 (small chunks of bigger images)."""
    from tests.e2e.test_geometries import _data, _images, _with_classes, synthetic_model

    data = dataclasses.replace(_data((64, 48), 40), classes=tuple(f"k{i}" for i in range(12)))
    model = _with_classes(synthetic_model("modern"), data)
    images = _images((64, 48), 30)
    np.testing.assert_array_equal(QemuRuntime(model, "qemu-m0").logits(images), reference.predict(model, images)[1])
