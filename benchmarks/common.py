"""Shared by the benchmark scripts: where results go, and the facts recorded with every figure."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("edgelenet", "torch", "numpy", "onnx", "onnxruntime", "tinygrad")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def command_line() -> str:
    """The command that reproduces this run, from the repository root."""
    module = f"benchmarks.{Path(sys.argv[0]).stem}"
    return " ".join([".venv/bin/python", "-m", module, *map(shlex.quote, sys.argv[1:])])


def write_result(name: str, figures: dict) -> Path:
    """benchmarks/results/<name>.json: the figures, the command that made them, and the versions."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"benchmark": name, "command": command_line(), "machine": {
        "cpus": os.cpu_count(), "platform": platform.platform()}, "versions": versions(), **figures}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}  ({record['command']})", file=sys.stderr)
    return path
