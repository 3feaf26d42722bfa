"""`edgelenet import`: a foreign float LeNet-5 (ONNX or PyTorch state dict) -> an edgelenet checkpoint.

The input normalization folds into C1. edgelenet's network reads x = 0.005 * pixel - 0.1 on the 32x32
field; the foreign network reads u = s * pixel + o (declared: `--mean M --std S` means ToTensor then
Normalize, s = 1/(255 S), o = -M/S; `--scale S --offset O` gives s, o directly; default pixel/255, or the
raw pixel when the graph scales its own input down by 100 or more), then the graph's own Sub/Div/Mul/Add. With
pixel = 200 x + 20, C1 reads u = a x + b, so C1's weights scale by a and its bias gains b * sum(W).

A C1 padded by p on a (32-2p)^2 input is the 32x32 field whose frame is the padding value: the foreign
network pads u = 0, that is pixel = -o/s, and edgelenet fills the frame with the `background` level. When
that pixel is a whole level 0..255 (0 for ToTensor) the import is exact; otherwise the nearest level is used
and the JSON reports the difference. The self-check compares the folds exactly either way: it evaluates
the foreign network with its padding replaced by the background frame.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import torch

from edgelenet.errors import UserError
from edgelenet.importer.lower import lower
from edgelenet.importer.match import check_c3_table, match
from edgelenet.importer.reference import foreign_logits
from edgelenet.model import PIXEL_OFFSET, PIXEL_SCALE

SELF_CHECK_IMAGES = 16
SELF_CHECK_TOLERANCE = 1e-3   # relative to the largest logit magnitude


def declared_normalization(mean, std, scale, offset) -> tuple[float, float] | None:
    """(s, o) of u = s * pixel + o from the command line, or None when nothing was declared."""
    if (mean is None) != (std is None) or (scale is None) != (offset is None):
        raise UserError("give --mean with --std, or --scale with --offset")
    if mean is not None and scale is not None:
        raise UserError("give either --mean/--std or --scale/--offset, not both")
    values = [v for v in (mean, std, scale, offset) if v is not None]
    if not all(np.isfinite(v) for v in values):
        raise UserError("normalization values must be finite numbers")
    if std is not None:
        if std <= 0:
            raise UserError(f"--std must be positive, got {std}")
        return 1.0 / (255.0 * std), -mean / std
    if scale is not None:
        if scale == 0:
            raise UserError("--scale must not be zero")
        return float(scale), float(offset)
    return None


def read_chain(path: Path, mapping: str | None, input_size: tuple):
    """Chain of an ONNX file or a state dict, told apart by content (ONNX is protobuf, .pt is a zip)."""
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        from edgelenet.importer.state_dict import read_state_dict
        return read_state_dict(path, mapping, input_size)
    if mapping:
        raise UserError("--map applies to PyTorch state dicts only; ONNX layers are read from the graph")
    from edgelenet.importer.onnx_reader import read_onnx
    return read_onnx(path)


def default_normalization(graph_affine: tuple, notes: list) -> tuple[float, float]:
    """pixel/255 (ToTensor), unless the graph itself scales its input down by 100 or more (Keras'
    Rescaling(1/255) and the like): such a graph reads raw pixels 0..255."""
    if abs(graph_affine[0]) <= 0.01:
        notes.append(f"the graph scales its input by {graph_affine[0]:.6g}: it reads raw pixels 0..255")
        return (1.0, 0.0)
    if graph_affine != (1.0, 0.0):
        notes.append("the graph normalizes its input itself; it reads pixel/255 (ToTensor) by default")
    return (1.0 / 255.0, 0.0)


def fold_input(state: dict, pixel_to_u: tuple, graph_affine: tuple, pad: int) -> tuple[int, float]:
    """Fold x -> pixel -> u -> graph affine into C1; returns (background level, its error in levels)."""
    s, o = pixel_to_u
    gs, go = graph_affine
    # C1 reads gs * (s * pixel + o) + go with pixel = (x - PIXEL_OFFSET) / PIXEL_SCALE
    a = gs * s / PIXEL_SCALE
    b = gs * (o - s * PIXEL_OFFSET / PIXEL_SCALE) + go
    if a == 0:
        raise UserError("the input normalization multiplies the image by zero")
    weight = state["c1.weight"]
    state["c1.bias"] = state["c1.bias"] + b * weight.sum(axis=(1, 2, 3))
    state["c1.weight"] = weight * a
    if not pad:
        return 0, 0.0
    pad_pixel = -(o + go / gs) / s   # the pixel level whose normalized value is C1's zero padding
    if not np.isfinite(pad_pixel) or not -0.5 <= pad_pixel < 255.5:
        raise UserError(f"C1 pads with the value of pixel level {pad_pixel:.3f}, outside 0..255: "
                        "check --mean/--std or --scale/--offset")
    level = int(round(pad_pixel))
    return level, abs(pad_pixel - level)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def self_check(chain, pixel_to_u, model, order: list) -> float:
    """Largest |logit difference| / largest |logit| between the foreign network (evaluated from the parsed
    chain, before any folding, with C1's padding replaced by the model's background frame) and the
    imported model (whose outputs are the foreign ones in `order`), on random images of the input size.
    NaN when either gives non-finite logits."""
    from edgelenet.importer.model_io import imported_logits

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(SELF_CHECK_IMAGES,) + tuple(chain.input_size), dtype=np.uint8)
    expected = foreign_logits(chain, pixels, pixel_to_u, frame=model.data.background)[:, order]
    got = imported_logits(model, pixels)
    if not (np.all(np.isfinite(expected)) and np.all(np.isfinite(got))):
        return float("nan")
    return float(np.abs(expected - got).max() / max(np.abs(expected).max(), 1e-12))


def check_finite(state: dict) -> None:
    for name, value in state.items():
        if not np.all(np.isfinite(value)) or np.abs(value).max(initial=0) > np.finfo(np.float32).max:
            raise UserError(f"folding gives non-finite or out-of-range weights in {name} (check the BatchNorm "
                            "statistics and the normalization)")


def convert(path: Path, pixel_to_u, mapping: str | None, input_size: tuple) -> dict:
    """Everything `import` decides, before the checkpoint is written."""
    chain = read_chain(path, mapping, input_size)
    original = copy.deepcopy(chain)
    arch, ops = lower(chain)
    graph_norm = chain.input_affine != (1.0, 0.0)
    if pixel_to_u is None:
        pixel_to_u = default_normalization(chain.input_affine, chain.notes)
    state, layers, pad, pool_activation = match(arch, ops, chain.input_size)
    background, background_error = fold_input(state, pixel_to_u, chain.input_affine, pad)
    check_finite(state)
    return {"chain": original, "arch": arch, "pool_activation": pool_activation, "state": state, "layers": layers,
            "pad": pad, "background": background, "background_error": background_error, "pixel_to_u": pixel_to_u,
            "graph_normalization": graph_norm, "notes": chain.notes}


def widths_of(state: dict) -> tuple[tuple, int]:
    return ((state["c1.weight"].shape[0], state["c3.weight"].shape[0], state["c5.weight"].shape[0],
             state["f6.weight"].shape[0]), state["output.weight"].shape[0])


def classic_mask_check(arch: str, model, state: dict) -> None:
    if arch == "classic" and hasattr(model.c3, "mask"):
        check_c3_table(state, model.c3.mask.numpy().astype(np.float64))


def to_tensors(state: dict) -> dict:
    return {name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for name, value in state.items()}
