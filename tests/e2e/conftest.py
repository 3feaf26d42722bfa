"""Helpers for the compiled-C tests: skip when the compiler or emulator they need is missing."""

from __future__ import annotations

import pytest

from firmware_export import build


@pytest.fixture(scope="session")
def host_cc() -> str:
    cc = build.host_cc()
    if cc is None:
        pytest.skip("no host C compiler")
    return cc


@pytest.fixture(scope="session")
def arm_toolchain() -> None:
    if not build.have_arm():
        pytest.skip("arm-none-eabi-gcc not installed")


@pytest.fixture(scope="session")
def qemu(arm_toolchain) -> None:
    if not build.have_qemu():
        pytest.skip("qemu-system-arm not installed")
