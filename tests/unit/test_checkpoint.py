"""Checkpoints: round trip, and refusal of every kind of bad file."""

import json

import pytest
import torch
from safetensors.torch import save_file

from edgelenet.checkpoint import checkpoint_bytes, load_checkpoint, read_metadata, save_checkpoint
from edgelenet.errors import UserError
from edgelenet.model import build_model


def test_round_trip_is_exact(tmp_path):
    model = build_model("classic", "rbf")
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"seed": 3})
    loaded, training = load_checkpoint(path)
    assert training == {"seed": 3} and loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_same_model_gives_same_bytes():
    torch.manual_seed(0)
    a = checkpoint_bytes(build_model())
    torch.manual_seed(0)
    assert checkpoint_bytes(build_model()) == a


def test_shipped_checkpoints_load_and_record_their_command():
    for arch in ("classic", "modern"):
        model, training = load_checkpoint(arch)
        assert model.config.arch == arch and training["config"]["seed"] == 0


def _resave(path, tensors, metadata):
    save_file(tensors, str(path), metadata={"edgelenet": json.dumps(metadata)})


@pytest.fixture()
def saved(tmp_path):
    return save_checkpoint(build_model(), tmp_path / "m.safetensors")


def test_truncated_checkpoint_is_refused(saved):
    saved.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(UserError, match="corrupt|readable"):
        load_checkpoint(saved)


def test_modified_weights_fail_the_checksum(saved):
    from safetensors.torch import load_file
    tensors, metadata = load_file(str(saved)), read_metadata(saved)
    tensors["c1.bias"][0] += 1
    _resave(saved, tensors, metadata)
    with pytest.raises(UserError, match="checksum"):
        load_checkpoint(saved)


def test_checkpoint_of_another_architecture_is_refused(saved):
    """A well-formed file (valid checksum) whose tensors do not fit the architecture it names."""
    from safetensors.torch import load_file
    from edgelenet.checkpoint import _digest
    tensors = load_file(str(saved))
    body = {k: v for k, v in read_metadata(saved).items() if k != "sha256"}
    body["arch"] = "classic"
    body["sha256"] = _digest(tensors, body)
    _resave(saved, tensors, body)
    with pytest.raises(UserError, match="architecture"):
        load_checkpoint(saved)


def test_nan_weights_are_refused(tmp_path):
    model = build_model()
    with torch.no_grad():
        model.f6.weight[0, 0] = float("nan")
    path = save_checkpoint(model, tmp_path / "nan.safetensors")
    with pytest.raises(UserError, match="NaN"):
        load_checkpoint(path)


def test_newer_version_and_foreign_files_are_refused(saved, tmp_path):
    from safetensors.torch import load_file
    metadata = read_metadata(saved)
    _resave(saved, load_file(str(saved)), dict(metadata, version=99))
    with pytest.raises(UserError, match="newer"):
        load_checkpoint(saved)
    foreign = tmp_path / "f.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"hello": "1"})
    with pytest.raises(UserError, match="not an edgelenet checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 50)
    with pytest.raises(UserError):
        load_checkpoint(tmp_path / "junk.safetensors")
