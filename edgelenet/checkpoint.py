"""Float checkpoints: safetensors (no code runs on load) with the architecture in the metadata.

Layout: the model's state dict as float32 tensors; metadata `format`, `version`, `arch`, `head`, `sha256`
(over the tensor bytes, verified on load) and `training` (a JSON record of how the weights were made).
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
from edgelenet.model import LeNet5, ModelConfig

FORMAT = "edgelenet-checkpoint"
VERSION = 1
PRETRAINED = ("classic", "modern")


def _tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().numpy().tobytes())
    return digest.hexdigest()


def checkpoint_bytes(model: LeNet5, training: dict | None = None) -> bytes:
    tensors = {name: t.detach().float().contiguous().clone() for name, t in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "arch": model.config.arch,
        "head": model.config.head,
        "sha256": _tensor_digest(tensors),
        "training": json.dumps(training or {}, sort_keys=True),
    }
    return save(tensors, metadata=metadata)


def save_checkpoint(model: LeNet5, path: Path, training: dict | None = None) -> Path:
    return write_bytes_atomic(Path(path), checkpoint_bytes(model, training))


def resolve_model_path(spec: str | Path) -> Path:
    """A checkpoint path, or `classic` / `modern` for the checkpoints shipped in the package."""
    if str(spec) in PRETRAINED:
        return Path(str(resources.files("edgelenet") / "pretrained" / f"{spec}.safetensors"))
    return Path(spec)


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable safetensors file ({exc})") from None


def load_checkpoint(spec: str | Path) -> tuple[LeNet5, dict]:
    """The model and its training record; any defect in the file is a UserError naming it."""
    path = resolve_model_path(spec)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path}: not an edgelenet checkpoint (format {metadata.get('format')!r})")
    if not metadata.get("version", "").isdigit() or int(metadata["version"]) > VERSION:
        raise UserError(f"{path}: checkpoint version {metadata.get('version')} is newer than this edgelenet reads")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"{path}: checkpoint is corrupt ({exc})") from None
    if _tensor_digest(tensors) != metadata.get("sha256"):
        raise UserError(f"{path}: checksum mismatch, the checkpoint is corrupt or was modified")
    model = LeNet5(ModelConfig(arch=metadata.get("arch", "?"), head=metadata.get("head", "?")))
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise UserError(f"{path}: tensors do not match the {model.config.arch} architecture")
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise UserError(f"{path}: checkpoint holds NaN or infinite weights")
    model.load_state_dict(tensors)
    model.eval()
    return model, json.loads(metadata.get("training") or "{}")
