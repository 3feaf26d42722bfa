"""The foreign network evaluated straight from its parsed chain, before any folding (float64).

This is the importer's own check: the imported checkpoint must give the same logits as this evaluation of
what the file says (build.self_check), so a wrong fold can never be written silently.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from edgelenet.importer.ops import Act, Affine, Chain, Conv, Dense, Flatten, Pool, Softmax, Subsample

SQUASH_A, SQUASH_S = 1.7159, 2.0 / 3.0
ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "squash": lambda a: SQUASH_A * torch.tanh(SQUASH_S * a)}


def _per_channel(value, x: torch.Tensor) -> torch.Tensor:
    value = torch.as_tensor(np.asarray(value, dtype=np.float64))
    return value.reshape((1, -1) + (1,) * (x.dim() - 2)) if value.dim() else value


def _apply(op, x: torch.Tensor) -> torch.Tensor:
    if isinstance(op, Conv):
        return F.conv2d(x, torch.from_numpy(op.weight), torch.from_numpy(op.bias), padding=op.pad)
    if isinstance(op, Dense):
        return x @ torch.from_numpy(op.weight).T + torch.from_numpy(op.bias)
    if isinstance(op, Act):
        return ACTS[op.kind](x)
    if isinstance(op, Pool):
        return F.max_pool2d(x, 2) if op.kind == "max" else F.avg_pool2d(x, 2)
    if isinstance(op, Subsample):
        return 4.0 * F.avg_pool2d(x, 2) * _per_channel(op.coefficient, x) + _per_channel(op.bias, x)
    if isinstance(op, Affine):
        return x * _per_channel(op.scale, x) + _per_channel(op.offset, x)
    if isinstance(op, Flatten):
        return x.permute(0, *(axis + 1 for axis in op.order)).reshape(x.shape[0], -1)
    if isinstance(op, Softmax):
        return x  # compare the logits the softmax reads
    raise TypeError(op)


def foreign_logits(chain: Chain, pixels: np.ndarray, pixel_to_u: tuple, frame: int | None = None) -> np.ndarray:
    """(N, classes) logits of the foreign network for uint8 images (N, H, W) at its input size.

    `frame`: instead of C1's zero padding, surround the image with this pixel level (what edgelenet's 32x32
    field does), so that the comparison isolates the folds from the choice of background level."""
    s, o = pixel_to_u
    gs, go = chain.input_affine
    first_conv = next(op for op in chain.ops if isinstance(op, Conv))
    if frame is not None and first_conv.pad:
        p = first_conv.pad
        pixels = np.pad(pixels, ((0, 0), (p, p), (p, p)), constant_values=frame)
    x = (torch.from_numpy(pixels).double().unsqueeze(1) * s + o) * gs + go
    with torch.no_grad():
        for op in chain.ops:
            if op is first_conv and frame is not None:
                op = Conv(op.weight, op.bias, 0, op.source)
            x = _apply(op, x)
    return x.numpy()
