"""export-c's files for two fixed synthetic models must match the checked-in golden files byte for byte.

After an intended change, run `python tests/golden/regenerate.py` and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from regenerate import ARCHS, golden_files  # noqa: E402


@pytest.mark.parametrize("arch", ARCHS)
def test_export_c_files_should_match_golden(arch):
    files = golden_files(arch)
    expected_dir = HERE / "export_c" / arch
    expected = {str(p.relative_to(expected_dir)): p.read_text() for p in sorted(expected_dir.rglob("*")) if p.is_file()}
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{name} differs from tests/golden/export_c/{arch}/{name}"
