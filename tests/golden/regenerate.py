"""Regenerate the golden export-c files: `python tests/golden/regenerate.py` (then review the diff).

For each synthetic model (tests/golden/synthetic.py) the files export-c writes, except the report (its
code size depends on the installed arm-none-eabi-gcc), go to tests/golden/export_c/<arch>/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import synthetic_model  # noqa: E402

from firmware_export.render import render  # noqa: E402

ARCHS = ("modern", "classic")
PREFIX = "tiny"


def golden_files(arch: str) -> dict[str, str]:
    return render(synthetic_model(arch), PREFIX).files


def main() -> None:
    for arch in ARCHS:
        target = HERE / "export_c" / arch
        shutil.rmtree(target, ignore_errors=True)
        for name, text in golden_files(arch).items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
