"""Float checkpoints: safetensors (no code runs on load) with the architecture in the metadata.

Layout: the model's state dict as float32 tensors, and ONE metadata entry `edgelenet` holding canonical JSON
(sorted keys): `format`, `version`, `arch`, `head`, `training` (how the weights were made), the family keys
`widths`, `classes`, `input_size`, `background`, `dataset` (edgelenet/family.py; absent for the paper's
network on MNIST), `pool_activation` (classic; absent for the paper's squash) and `sha256` (over the
tensors and the rest of the JSON, verified on load). One entry, because safetensors writes several metadata
entries in an unspecified order, and the same model must give the same bytes.
`classic` and `modern` name the checkpoints shipped inside the package.
Loading goes through edgelenet/schema.py: float32 tensors only (bfloat16 and others are refused before
decoding), exactly the architecture's names and shapes, finite values, a well-formed training record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import save

from edgelenet import schema
from edgelenet.schema import PRETRAINED, read_metadata, resolve_model_path  # noqa: F401
from edgelenet.fileio import write_bytes_atomic
from edgelenet.family import family_metadata, read_family_metadata
from edgelenet.model import LeNet5, model_from_state

FORMAT = "edgelenet-checkpoint"
VERSION = 1


def _digest(tensors: dict, body: dict) -> str:
    """Over the JSON and every tensor's bytes (torch tensors when saving, numpy arrays when loading)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    for name in sorted(tensors):
        digest.update(name.encode())
        tensor = tensors[name]
        digest.update((tensor.contiguous().numpy() if isinstance(tensor, torch.Tensor) else tensor).tobytes())
    return digest.hexdigest()


def checkpoint_bytes(model: LeNet5, training: dict | None = None) -> bytes:
    tensors = {name: t.detach().float().contiguous().clone() for name, t in model.state_dict().items()}
    body = {"format": FORMAT, "version": VERSION, "arch": model.config.arch, "head": model.config.head,
            "training": training or {},
            **family_metadata(model.config.widths, model.data, model.config.pool_activation)}
    body["sha256"] = _digest(tensors, body)
    return save(tensors, metadata={"edgelenet": json.dumps(body, sort_keys=True)})


def save_checkpoint(model: LeNet5, path: Path, training: dict | None = None) -> Path:
    return write_bytes_atomic(Path(path), checkpoint_bytes(model, training))


def load_checkpoint(spec: str | Path) -> tuple[LeNet5, dict]:
    """The model and its training record; any defect in the file is a one-line UserError naming it."""
    path = resolve_model_path(spec)
    tensors, metadata = schema.read_safetensors(path, "checkpoint", ("F32",))
    check = schema.Checker(path)
    schema.check_header(check, metadata, FORMAT, VERSION, "checkpoint")
    if _digest(tensors, {k: v for k, v in metadata.items() if k != "sha256"}) != metadata["sha256"]:
        check.fail("checksum mismatch, the checkpoint is corrupt or was modified")
    family = schema.model_family(check, metadata)
    state = schema.check_float_state(check, family, tensors, f"tensors of LeNet-5 {family['arch']}")
    training = schema.check_training(check, metadata.get("training", {}))
    widths, data = read_family_metadata(metadata, str(path))
    model = model_from_state(family["arch"], family["head"], state, widths, data.num_classes, data,
                             family["pool_activation"])
    return model, training
