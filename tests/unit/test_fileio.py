"""edgelenet/fileio.py: outputs never replace special files or the command's inputs, export folders swap in
whole (renameat2 or its fallback) and keep files the export does not write, write errors are one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from edgelenet import fileio
from edgelenet.errors import UserError


def _old_export(out: Path) -> None:
    (out / "example").mkdir(parents=True)
    (out / "lenet5.c").write_text("old engine")
    (out / "example" / "main.c").write_text("old main")
    (out / "notes.txt").write_text("the user's own file")
    (out / "mine").mkdir()
    (out / "mine" / "data.bin").write_bytes(b"\x00\x01")
    (out / "link").symlink_to("notes.txt")


@pytest.mark.parametrize("renameat2", [True, False])
def test_replace_tree_swaps_in_the_new_files_and_keeps_the_others(tmp_path, monkeypatch, renameat2):
    out = tmp_path / "out"
    _old_export(out)
    if not renameat2:
        monkeypatch.setattr(fileio, "exchange", lambda a, b: False)
    fileio.replace_tree({"lenet5.c": b"new engine", "example/main.c": b"new main", "lenet5.h": b"new header"}, out)
    assert (out / "lenet5.c").read_text() == "new engine" and (out / "example" / "main.c").read_text() == "new main"
    assert (out / "lenet5.h").read_text() == "new header"
    assert (out / "notes.txt").read_text() == "the user's own file" and (out / "mine" / "data.bin").read_bytes() == b"\x00\x01"
    assert os.readlink(out / "link") == "notes.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_exchange_is_atomic_on_this_machine(tmp_path):
    """renameat2(RENAME_EXCHANGE) is available here (Linux): the swap is one system call."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    assert fileio.exchange(a, b)
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_a_failed_swap_leaves_the_old_files_even_those_hard_linked(tmp_path, monkeypatch):
    """The staging copy hard-links the old files: new content must replace the link, never write through it."""
    out = tmp_path / "out"
    _old_export(out)

    def crash(a, b):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(fileio, "exchange", crash)
    with pytest.raises(UserError, match="no space left on the device"):
        fileio.replace_tree({"lenet5.c": b"new engine"}, out)
    assert (out / "lenet5.c").read_text() == "old engine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_fifo_inside_the_output_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "pipe")
    with pytest.raises(UserError, match="not a regular file"):
        fileio.replace_tree({"lenet5.c": b"x"}, out)
    assert [p.name for p in out.iterdir()] == ["pipe"]


def test_special_targets_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name, message in (("fifo", "not a regular file"), ("dir", "is a directory")):
        with pytest.raises(UserError, match=message):
            fileio.write_bytes_atomic(tmp_path / name, b"x")
    with pytest.raises(UserError, match="not a regular file"):
        fileio.check_output_file(Path("/dev/null"))


def test_outputs_that_are_inputs_are_refused_however_spelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.safetensors").write_bytes(b"model")
    os.link(tmp_path / "m.safetensors", tmp_path / "hard.safetensors")
    for output in ("m.safetensors", "./m.safetensors", str(tmp_path / "m.safetensors"), "hard.safetensors"):
        with pytest.raises(UserError, match="is the input"):
            fileio.refuse_inputs(Path(output), [Path("m.safetensors")])
    with pytest.raises(UserError, match="contains the input"):
        fileio.refuse_inputs(Path("."), [Path("m.safetensors")], directory=True)
    fileio.refuse_inputs(Path("other.safetensors"), [Path("m.safetensors"), None])   # no error


def test_disk_full_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    target.write_bytes(b"previous")

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(UserError, match="cannot write .*a.bin: no space left on the device"):
        fileio.write_bytes_atomic(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]
