"""Parity: one artifact through every runtime on the same images, compared against two baselines.

Baselines (always run): `torch`, the float model the artifact came from, for accuracy; `reference`, the
integer reference engine, for label agreement and int8 logit differences. Checks, each against a threshold:

    int8 runtime      accuracy drop vs torch          <= max_accuracy_drop (percentage points)
    ort-int8, tinygrad-int8   agreement vs reference  >= min_agreement (percent)
    ort-float, tinygrad-float agreement vs torch      >= min_float_agreement (percent)
    c, qemu-*         agreement 100 %, max |logit - reference logit| <= c_max_logit_diff (int8 steps)

The qemu-* runtimes run the C engine on an emulated Cortex-M core (qemu-m0 ... qemu-m55); they are slow, so
they run only when named in --runtimes, and report the core and the instructions per inference.

A runtime that cannot run here (RuntimeUnavailable, or not installed) is reported as skipped with the
reason. Rule: a skipped runtime fails validation only when the user named it in --runtimes.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field

import numpy as np
from rich.console import Console

from edgelenet.artifact import QuantizedModel
from edgelenet.errors import UserError
from edgelenet.progress import progress_bar
from edgelenet.runtime_api import RuntimeUnavailable
from edgelenet.runtime_registry import RUNTIMES

ALL_RUNTIMES = ("torch", "reference", "ort-float", "ort-int8", "tinygrad-float", "tinygrad-int8", "c")
BASELINES = ("torch", "reference")
CHUNK = 1000  # images per call: the progress bar moves, memory stays small


@dataclass(frozen=True)
class Thresholds:
    max_accuracy_drop: float = 0.1     # percentage points an int8 runtime may lose against the float model
    min_agreement: float = 99.9        # percent of labels ort-int8 / tinygrad-int8 share with the reference
    min_float_agreement: float = 99.9  # percent of labels the float ONNX runtimes share with torch
    c_max_logit_diff: int = 0          # the C engine claims bit-exactness with the reference


@dataclass
class RuntimeResult:
    name: str
    status: str = "ok"                 # ok | skipped
    reason: str = ""
    int8: bool = False
    seconds: float = 0.0
    accuracy: float | None = None
    agreement: float | None = None         # labels equal to the reference, fraction
    float_agreement: float | None = None   # labels equal to torch, fraction
    max_logit_diff: int | None = None      # int8 runtimes: max |logit - reference logit| in int8 steps
    images: int = 0                        # images whose logits were compared
    core: str | None = None                # qemu-*: the emulated Cortex-M core and its QEMU board
    board: str | None = None
    instructions_per_inference: int | None = None  # qemu-*: QEMU -icount instructions (not cycles)
    logits: np.ndarray | None = field(default=None, repr=False)


def select_runtimes(names: list[str] | None) -> list[str]:
    """The runtimes to run, baselines first; unknown names are a UserError."""
    known = list(ALL_RUNTIMES) + [name for name in RUNTIMES if name not in ALL_RUNTIMES]
    unknown = [name for name in names or [] if name not in known]
    if unknown:
        raise UserError(f"unknown runtime {', '.join(map(repr, unknown))}: choose from {', '.join(known)}")
    wanted = names if names else ALL_RUNTIMES
    return list(BASELINES) + [name for name in dict.fromkeys(wanted) if name not in BASELINES]


def _execute(name: str, model: QuantizedModel, images: np.ndarray, advance) -> RuntimeResult:
    start = time.perf_counter()
    if name not in RUNTIMES:
        return RuntimeResult(name, "skipped", f"{name!r} is not installed in this edgelenet")
    try:
        runtime = RUNTIMES[name](model)
        parts = []
        for begin in range(0, len(images), CHUNK):
            parts.append(np.asarray(runtime.logits(images[begin:begin + CHUNK])))
            advance(len(parts[-1]))
    except (RuntimeUnavailable, ImportError) as exc:  # ImportError: an optional part is not installed
        return RuntimeResult(name, "skipped", str(exc) or "unavailable", seconds=time.perf_counter() - start)
    logits = np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)
    details = runtime.details() if hasattr(runtime, "details") else {}
    return RuntimeResult(name, int8=bool(runtime.int8), seconds=time.perf_counter() - start, logits=logits,
                         images=len(logits), **details)


def _compare(result: RuntimeResult, labels: np.ndarray, torch: RuntimeResult, ref: RuntimeResult) -> None:
    predicted = result.logits.argmax(axis=1)
    result.accuracy = float(np.mean(predicted == labels)) if len(labels) else 0.0
    result.agreement = float(np.mean(predicted == ref.logits.argmax(axis=1))) if len(labels) else 1.0
    result.float_agreement = float(np.mean(predicted == torch.logits.argmax(axis=1))) if len(labels) else 1.0
    if result.int8:
        diff = np.abs(result.logits.astype(np.int32) - ref.logits.astype(np.int32))
        result.max_logit_diff = int(diff.max()) if diff.size else 0


def _check(runtime: str, check: str, value: float, limit: float, passed: bool) -> dict:
    return {"runtime": runtime, "check": check, "value": value, "limit": limit, "passed": bool(passed)}


def _checks(result: RuntimeResult, torch: RuntimeResult, limits: Thresholds, explicit: bool) -> list[dict]:
    name = result.name
    if result.status != "ok":
        return [_check(name, "available", 0, 1, False)] if explicit else []
    checks = []
    if result.int8:
        drop = round((torch.accuracy - result.accuracy) * 100, 6)
        checks.append(_check(name, "accuracy_drop", drop, limits.max_accuracy_drop, drop <= limits.max_accuracy_drop))
    if name in ("ort-int8", "tinygrad-int8"):
        pct = round(result.agreement * 100, 6)
        checks.append(_check(name, "agreement", pct, limits.min_agreement, pct >= limits.min_agreement))
    if name in ("ort-float", "tinygrad-float"):
        pct = round(result.float_agreement * 100, 6)
        checks.append(_check(name, "float_agreement", pct, limits.min_float_agreement,
                             pct >= limits.min_float_agreement))
    if name == "c" or name.startswith("qemu-"):
        checks.append(_check(name, "agreement", result.agreement * 100, 100.0, result.agreement == 1.0))
        checks.append(_check(name, "max_logit_diff", result.max_logit_diff, limits.c_max_logit_diff,
                             result.max_logit_diff <= limits.c_max_logit_diff))
    return checks


def run_parity(model: QuantizedModel, images: np.ndarray, labels: np.ndarray, names: list[str] | None,
               limits: Thresholds, console: Console | None = None) -> dict:
    """Run, compare, check; returns the report (see `validate --json`)."""
    selected = select_runtimes(names)
    explicit = set(names or [])
    results: dict[str, RuntimeResult] = {}
    with progress_bar(console, transient=True, disable=console is None) as progress:
        for name in selected:
            task = progress.add_task(f"validate {name}", total=len(images))
            results[name] = _execute(name, model, images, lambda n, task=task: progress.advance(task, n))
            progress.update(task, completed=len(images))
    torch, ref = results["torch"], results["reference"]
    for result in results.values():
        if result.status == "ok":
            _compare(result, labels, torch, ref)
    checks = [c for r in results.values() for c in _checks(r, torch, limits, r.name in explicit)]
    return {
        "passed": all(c["passed"] for c in checks),
        "n": int(len(images)),
        "checksum": model.checksum,
        "thresholds": asdict(limits),
        "skip_rule": "a skipped runtime fails validation only when named in --runtimes",
        "runtimes": {name: {k: v for k, v in asdict(r).items() if k not in ("name", "logits")}
                     for name, r in results.items()},
        "checks": checks,
        "seconds": round(sum(r.seconds for r in results.values()), 3),
    }


def junit_xml(report: dict) -> bytes:
    """JUnit XML: one testcase per runtime (ran / skipped) and one per threshold check."""
    suite = ET.Element("testsuite", name="edgelenet.validate")
    if "data" in report:  # the data set measured (ElementTree escapes the user-given text)
        data = report["data"]
        properties = ET.SubElement(suite, "properties")
        for key, value in (("data.name", data["name"]), ("data.fingerprint", data["fingerprint"]),
                           ("data.classes", ",".join(data["classes"])),
                           ("data.input_size", "x".join(map(str, data["input_size"])))):
            ET.SubElement(properties, "property", name=key, value=value)
    failures = skipped = 0
    failed_available = {c["runtime"] for c in report["checks"] if c["check"] == "available"}
    for name, info in report["runtimes"].items():
        case = ET.SubElement(suite, "testcase", classname="validate.runtime", name=name, time=f"{info['seconds']:.3f}")
        facts = {k: info.get(k) for k in ("images", "core", "board", "instructions_per_inference")}
        if info["status"] == "ok":
            properties = ET.SubElement(case, "properties")
            for key, value in facts.items():
                if value is not None:
                    ET.SubElement(properties, "property", name=key, value=str(value))
        if info["status"] != "ok" and name in failed_available:
            ET.SubElement(case, "failure", message=f"requested but unavailable: {info['reason']}")
            failures += 1
        elif info["status"] != "ok":
            ET.SubElement(case, "skipped", message=info["reason"])
            skipped += 1
    for check in report["checks"]:
        if check["check"] == "available":
            continue
        case = ET.SubElement(suite, "testcase", classname="validate.threshold",
                             name=f"{check['runtime']}.{check['check']}", time="0")
        if not check["passed"]:
            ET.SubElement(case, "failure", message=f"{check['check']} = {check['value']} (limit {check['limit']})")
            failures += 1
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{report['seconds']:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def table_rows(report: dict) -> list[list]:
    """Rows for the CLI table: runtime, status, accuracy, agreement, max int8 logit diff, seconds, checks."""
    rows = []
    for name, info in report["runtimes"].items():
        own = [c for c in report["checks"] if c["runtime"] == name]
        verdict = "-" if not own else ("pass" if all(c["passed"] for c in own) else "FAIL")
        if info["status"] != "ok":  # the reason is printed under the table: it is too long for a cell
            rows.append([name, "skipped", "", "", "", f"{info['seconds']:.2f}", verdict])
            continue
        diff = "" if info["max_logit_diff"] is None else info["max_logit_diff"]
        rows.append([name, "int8" if info["int8"] else "float", f"{info['accuracy']:.2%}", f"{info['agreement']:.2%}",
                     diff, f"{info['seconds']:.2f}", verdict])
    return rows
