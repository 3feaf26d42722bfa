"""Open an untrusted ONNX file: bounded size, parsed from bytes, checked; side-file tensors read safely.

Tensors kept in a side file (torch.onnx.export writes `model.onnx.data`) are read here, from a plain file
name beside the model only and within the same size bound, so onnx never opens a path taken from the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgelenet.errors import UserError

MAX_BYTES = 64 << 20   # the widest family member (64/64/1024/1024 widths) is about 8 MB of float32


def load_model(path: Path):
    import onnx
    from google.protobuf.message import DecodeError

    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UserError(f"{path}: {size} bytes is larger than any LeNet-5-family model ({MAX_BYTES} bytes max)")
    try:
        model = onnx.load_from_string(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError, TypeError) as exc:
        raise UserError(f"{path}: not an ONNX model ({exc})") from None
    budget = [MAX_BYTES - size]
    for tensor in list(model.graph.initializer) + [a.t for n in model.graph.node for a in n.attribute]:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            _inline_external(path, tensor, budget)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise UserError(f"{path}: invalid ONNX model ({str(exc).splitlines()[0]})") from None
    return model


def _inline_external(path: Path, tensor, budget: list) -> None:
    """Read a tensor kept in a side file (torch.onnx.export's `model.onnx.data`) into the tensor itself.

    Only a plain file name beside the model is accepted (no directories, no links), and the bytes read count
    against the same size bound as the model, so the file cannot make the importer read anything else.
    """
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    side = path.parent / location
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}", location) or side.is_symlink() or not side.is_file():
        raise UserError(f"{path}: tensor {tensor.name!r} refers to external data {location[:100]!r}, which must "
                        "be a file beside the model")
    try:
        offset, length = int(info.get("offset", 0)), int(info.get("length", side.stat().st_size))
    except ValueError:
        raise UserError(f"{path}: tensor {tensor.name!r} has a malformed external data entry") from None
    if offset < 0 or length < 0 or offset + length > side.stat().st_size or length > budget[0]:
        raise UserError(f"{path}: tensor {tensor.name!r}: external data out of bounds or too large")
    budget[0] -= length
    with open(side, "rb") as handle:
        handle.seek(offset)
        tensor.raw_data = handle.read(length)
    del tensor.external_data[:]
    tensor.data_location = 0  # DEFAULT
