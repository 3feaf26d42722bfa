"""Float checkpoints: safetensors (no code runs on load) with the architecture in the metadata.

Layout: the model's state dict as float32 tensors, and ONE metadata entry `edgelenet` holding canonical JSON
(sorted keys): `format`, `version`, `arch`, `head`, `training` (how the weights were made), the family keys
`widths`, `classes`, `input_size`, `background`, `dataset` (edgelenet/family.py; absent for the paper's
network on MNIST) and `sha256` (over the tensors and the rest of the JSON, verified on load). One entry, because safetensors writes several
metadata entries in an unspecified order, and the same model must give the same bytes.
`classic` and `modern` name the checkpoints shipped inside the package.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from edgelenet.errors import UserError
from edgelenet.fileio import write_bytes_atomic
from edgelenet.family import family_metadata, read_family_metadata
from edgelenet.model import LeNet5, ModelConfig

FORMAT = "edgelenet-checkpoint"
VERSION = 1
PRETRAINED = ("classic", "modern")


def _digest(tensors: dict[str, torch.Tensor], body: dict) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().numpy().tobytes())
    return digest.hexdigest()


def checkpoint_bytes(model: LeNet5, training: dict | None = None) -> bytes:
    tensors = {name: t.detach().float().contiguous().clone() for name, t in model.state_dict().items()}
    body = {"format": FORMAT, "version": VERSION, "arch": model.config.arch, "head": model.config.head,
            "training": training or {}, **family_metadata(model.config.widths, model.data)}
    body["sha256"] = _digest(tensors, body)
    return save(tensors, metadata={"edgelenet": json.dumps(body, sort_keys=True)})


def save_checkpoint(model: LeNet5, path: Path, training: dict | None = None) -> Path:
    return write_bytes_atomic(Path(path), checkpoint_bytes(model, training))


def resolve_model_path(spec: str | Path) -> Path:
    """A checkpoint path, or `classic` / `modern` for the checkpoints shipped in the package."""
    if str(spec) in PRETRAINED:
        return Path(str(resources.files("edgelenet") / "pretrained" / f"{spec}.safetensors"))
    return Path(spec)


def read_metadata(path: Path) -> dict:
    """The `edgelenet` JSON of a checkpoint or artifact ({} when the file has none)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("edgelenet")
        body = json.loads(raw) if raw else {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable safetensors file ({exc})") from None
    if not isinstance(body, dict):
        raise UserError(f"{path}: malformed edgelenet metadata")
    return body


def model_for_metadata(metadata: dict, path) -> LeNet5:
    """An untrained model of the family member and data record the metadata describes."""
    widths, data = read_family_metadata(metadata, str(path))
    try:
        config = ModelConfig(arch=metadata.get("arch", "?"), head=metadata.get("head", "?"), widths=widths,
                             num_classes=data.num_classes)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    return LeNet5(config, data)


def load_checkpoint(spec: str | Path) -> tuple[LeNet5, dict]:
    """The model and its training record; any defect in the file is a UserError naming it."""
    path = resolve_model_path(spec)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path}: not an edgelenet checkpoint (format {metadata.get('format')!r})")
    if not isinstance(metadata.get("version"), int) or metadata["version"] > VERSION:
        raise UserError(f"{path}: checkpoint version {metadata.get('version')} is newer than this edgelenet reads")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"{path}: checkpoint is corrupt ({exc})") from None
    if _digest(tensors, {k: v for k, v in metadata.items() if k != "sha256"}) != metadata.get("sha256"):
        raise UserError(f"{path}: checksum mismatch, the checkpoint is corrupt or was modified")
    model = model_for_metadata(metadata, path)
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise UserError(f"{path}: tensors do not match the {model.config.arch} architecture "
                        f"with widths {','.join(map(str, model.config.widths))}")
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise UserError(f"{path}: checkpoint holds NaN or infinite weights")
    model.load_state_dict(tensors)
    model.eval()
    return model, metadata.get("training") or {}
