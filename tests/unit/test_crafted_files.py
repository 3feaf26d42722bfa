"""The validating loader on the crafted corpus (tests/crafted.py): every hostile artifact or checkpoint is
refused with one line that says what is wrong, before any consumer sees it; the untouched re-packed files
load, so each refusal is the edit's doing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from edgelenet.artifact import artifact_bytes, load_artifact
from edgelenet.checkpoint import checkpoint_bytes, load_checkpoint
from edgelenet.errors import UserError
from edgelenet.model import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import crafted  # noqa: E402


@pytest.fixture(scope="module")
def artifact_corpus(modern_int8, classic_int8) -> list[crafted.Case]:
    return crafted.artifact_cases(artifact_bytes(modern_int8), artifact_bytes(classic_int8))


@pytest.fixture(scope="module")
def checkpoint_corpus() -> list[crafted.Case]:
    return crafted.checkpoint_cases(checkpoint_bytes(build_model("modern")))


def _refusal(reader, data: bytes, path: Path) -> str:
    path.write_bytes(data)
    with pytest.raises(UserError) as info:
        reader(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)) or "not found" in message, message
    return message


def test_every_crafted_artifact_is_refused_with_its_reason(artifact_corpus, tmp_path):
    assert len(artifact_corpus) >= 60
    wrong = []
    for case in artifact_corpus:
        message = _refusal(load_artifact, case.data, tmp_path / f"{case.name}.safetensors")
        wrong += [] if re.search(case.pattern, message) else [f"{case.name}: {message}"]
    assert not wrong, "\n".join(wrong)


def test_every_crafted_checkpoint_is_refused_with_its_reason(checkpoint_corpus, tmp_path):
    wrong = []
    for case in checkpoint_corpus:
        message = _refusal(load_checkpoint, case.data, tmp_path / f"{case.name}.safetensors")
        wrong += [] if re.search(case.pattern, message) else [f"{case.name}: {message}"]
    assert not wrong, "\n".join(wrong)


def test_repacked_valid_files_load(modern_int8, classic_int8, tmp_path):
    """The corpus's writer and checksum are right: an edit that changes nothing gives a loadable file."""
    for model in (modern_int8, classic_int8):
        path = tmp_path / f"{model.arch}.safetensors"
        path.write_bytes(crafted.edited(artifact_bytes(model), lambda body, tensors: None))
        loaded = load_artifact(path)
        assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    path = tmp_path / "checkpoint.safetensors"
    path.write_bytes(crafted.edited(checkpoint_bytes(build_model("classic")), lambda b, t: None,
                                    crafted.checkpoint._digest))
    assert load_checkpoint(path)[0].config.arch == "classic"


def test_new_metadata_fields_are_accepted_when_valid(modern_int8, tmp_path):
    def edit(body, tensors):
        body.update(widths=[6, 16, 120, 84], classes=[f"digit {d}" for d in range(10)], input_size=[28, 28],
                    background=0, dataset={"name": "mnist", "fingerprint": "ab" * 32})
    path = tmp_path / "a.safetensors"
    path.write_bytes(crafted.edited(artifact_bytes(modern_int8), edit))
    assert load_artifact(path).arch == "modern"


def test_deep_json_is_refused_before_parsing(modern_int8, tmp_path, monkeypatch):
    """A million brackets: refused by the depth scan, json.loads never sees them (no RecursionError)."""
    import json

    path = tmp_path / "deep.safetensors"
    path.write_bytes(crafted._deep_json(artifact_bytes(modern_int8), depth=500_000))
    seen, real = [], json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: seen.append(len(text)) or real(text, **kw))
    with pytest.raises(UserError, match="nested"):
        load_artifact(path)
    assert len(seen) == 1   # the safetensors header (the metadata is a string in it); never the metadata


@pytest.mark.parametrize("bad, message", [
    ("", "does not fit|too short"), ("missing", "not found"), ("dir", "is a directory"), ("fifo", "not a regular file")])
def test_unreadable_paths_are_named_as_such(tmp_path, bad, message):
    import os

    path = tmp_path / "x.safetensors"
    if bad == "dir":
        path.mkdir()
    elif bad == "fifo":
        os.mkfifo(path)
    elif bad == "":
        path.write_bytes(b"\xff" * 9)
    with pytest.raises(UserError, match=message):
        load_artifact(path)
