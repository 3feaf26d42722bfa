"""Exporting the same artifact file twice, by the CLI, in two processes, gives byte-identical ONNX and C trees.

tests/unit/test_export_c.py and test_onnx_export.py already export twice, but in one process and from an
in-memory model. A firmware build runs `edgelenet export-c ARTIFACT` in a fresh process each time, where
Python's string hashing (set and dict-of-set order) changes with PYTHONHASHSEED: the two runs here use two
different seeds, into output directories of different names, so neither can leak into the bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def export(command: str, artifact: Path, out: Path, hash_seed: int) -> None:
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "edgelenet", command, str(artifact), "--out", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("variant", ["modern", "classic"])
@pytest.mark.parametrize("command", ["export-c", "export-onnx"])
def test_cli_export_twice_gives_identical_bytes(artifact_path, classic_artifact_path, variant, command, tmp_path):
    artifact = artifact_path if variant == "modern" else classic_artifact_path
    export(command, artifact, tmp_path / "first", hash_seed=1)
    export(command, artifact, tmp_path / "second-run", hash_seed=2)
    first, second = tree(tmp_path / "first"), tree(tmp_path / "second-run")
    assert len(first) >= 2 and sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert not any(str(tmp_path).encode() in data for data in first.values())  # no absolute path inside
