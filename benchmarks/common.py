"""Shared by the benchmark scripts: where results go, and the facts recorded with every figure.

Every result file is written by `write_result`: the figures, the command that reproduces them (run from the
repository root, as recorded), the library versions, the machine (CPU model and its vector extensions: host
timings depend on them more than on anything else) and the date.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("edgelenet", "torch", "numpy", "onnx", "onnxruntime", "tinygrad")
# The CPU flags that decide which kernels numpy, torch, onnxruntime and gcc -march=native can use.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx_vnni", "amx_int8", "asimd", "asimddp", "sve", "sve2")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def cpu_facts(cpuinfo: str | None = None) -> dict:
    """CPU model and vector extensions, from /proc/cpuinfo (Linux); the platform's word elsewhere."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or fields.get("Model") or platform.processor() or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    return {"cpu_model": model, "vector_extensions": [f for f in VECTOR_FLAGS if f in flags]}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), **cpu_facts()}


def command_line() -> str:
    """The command that reproduces this run, from the repository root."""
    module = f"benchmarks.{Path(sys.argv[0]).stem}"
    return " ".join([".venv/bin/python", "-m", module, *map(shlex.quote, sys.argv[1:])])


def write_result(name: str, figures: dict) -> Path:
    """benchmarks/results/<name>.json: the figures, the command that made them, versions, machine, date."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"benchmark": name, "command": command_line(), "machine": machine(), "versions": versions(),
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"), **figures}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}  ({record['command']})", file=sys.stderr)
    return path
