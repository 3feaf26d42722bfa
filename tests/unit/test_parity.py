"""Parity report logic: runtime selection, the skip rule, the C exactness check and the JUnit file."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from edgelenet import parity, runtime_registry
from edgelenet.runtime_api import RuntimeUnavailable
from edgelenet.errors import UserError
from edgelenet.parity import Thresholds, junit_xml, run_parity, select_runtimes


class _Unavailable:
    def __init__(self, model):
        raise RuntimeUnavailable("no C compiler on this machine")


class _OffByOne:
    """A C engine that is wrong by one int8 step on every logit of class 0."""
    name, int8 = "c", True

    def __init__(self, model):
        self._reference = runtime_registry.Reference(model)

    def logits(self, pixels):
        out = self._reference.logits(pixels).astype(np.int16)
        out[:, 0] = np.clip(out[:, 0] - 1, -128, 127)
        return out.astype(np.int8)


@pytest.fixture()
def with_c(monkeypatch):
    def install(factory):
        monkeypatch.setitem(runtime_registry.RUNTIMES, "c", factory)
    monkeypatch.delitem(runtime_registry.RUNTIMES, "c", raising=False)
    return install


def test_unknown_runtime_is_a_user_error():
    with pytest.raises(UserError, match="unknown runtime 'tflite'"):
        select_runtimes(["reference", "tflite"])


def test_baselines_always_run_first():
    assert select_runtimes(["c"]) == ["torch", "reference", "c"]
    assert select_runtimes(None) == list(parity.ALL_RUNTIMES)


def test_unavailable_runtime_is_skipped_and_fails_only_when_named(with_c, monkeypatch, modern_int8, test_subset):
    with_c(_Unavailable)
    monkeypatch.setattr(parity, "ALL_RUNTIMES", ("torch", "reference", "c"))  # the default set, minus slow ONNX
    images, labels = test_subset.images[:200], test_subset.labels[:200]
    implicit = run_parity(modern_int8, images, labels, ["reference", "torch"], Thresholds())
    assert implicit["passed"] and "c" not in implicit["runtimes"]
    default = run_parity(modern_int8, images, labels, None, Thresholds(max_accuracy_drop=100))
    assert default["runtimes"]["c"]["status"] == "skipped" and "no C compiler" in default["runtimes"]["c"]["reason"]
    assert default["passed"]
    named = run_parity(modern_int8, images, labels, ["c"], Thresholds(max_accuracy_drop=100))
    assert not named["passed"]
    assert [c["check"] for c in named["checks"] if not c["passed"]] == ["available"]


def test_c_must_equal_the_reference_bit_for_bit(with_c, modern_int8, test_subset):
    with_c(_OffByOne)
    report = run_parity(modern_int8, test_subset.images[:200], test_subset.labels[:200], ["c"],
                        Thresholds(max_accuracy_drop=100))
    c = report["runtimes"]["c"]
    assert c["max_logit_diff"] == 1 and not report["passed"]
    failed = {check["check"] for check in report["checks"] if not check["passed"]}
    assert "max_logit_diff" in failed


def test_accuracy_drop_threshold(modern_int8, test_subset):
    images, labels = test_subset.images[:200], test_subset.labels[:200]
    strict = run_parity(modern_int8, images, labels, ["reference"], Thresholds(max_accuracy_drop=-1))
    assert not strict["passed"] and strict["checks"][0]["check"] == "accuracy_drop"


def test_junit_has_one_testcase_per_runtime_and_check(with_c, modern_int8, test_subset):
    with_c(_Unavailable)
    report = run_parity(modern_int8, test_subset.images[:100], test_subset.labels[:100], ["reference", "c"],
                        Thresholds(max_accuracy_drop=100))
    suite = ET.fromstring(junit_xml(report)).find("testsuite")
    names = [(case.get("classname"), case.get("name")) for case in suite.iter("testcase")]
    assert names == [("validate.runtime", "torch"), ("validate.runtime", "reference"), ("validate.runtime", "c"),
                     ("validate.threshold", "reference.accuracy_drop")]
    c_case = suite.find("testcase[@name='c']")
    assert c_case.find("failure") is not None  # named explicitly: an unavailable C engine is a failure
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
