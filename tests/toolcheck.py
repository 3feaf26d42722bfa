"""What a test does when a tool it needs is missing: skip on a developer's machine, fail under CI.

CI (CI=true) must prove everything, so a missing compiler, emulator or sanitizer runtime there is a failure
that names the Debian package `scripts/setup.sh` installs; pytest's summary line counts skips elsewhere.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_tool(what: str, package: str) -> NoReturn:
    message = f"{what} (Debian package {package}, installed by scripts/setup.sh)"
    if in_ci():
        pytest.fail(f"CI needs {message}", pytrace=False)
    pytest.skip(message)
