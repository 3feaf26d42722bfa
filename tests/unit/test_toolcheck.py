"""A missing tool skips a test on a developer's machine and fails it under CI."""

import pytest

from tests.toolcheck import missing_tool


def test_missing_tool_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI needs qemu-system-arm .*Debian package qemu-system-arm"):
        missing_tool("qemu-system-arm", "qemu-system-arm")


def test_missing_tool_skips_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="cmake .*Debian package cmake"):
        missing_tool("cmake", "cmake")
