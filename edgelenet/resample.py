"""The one integer resampling from a source image (H x W uint8) into LeNet-5's 32x32 input field.

Defined here once; edgelenet/reference.py, the float data path (model.LeNet5.forward_pixels), the ONNX graph
(onnx_export.py) and the generated C (`<prefix>_prepare_input`, firmware_export/templates/prepare_*.c)
implement it identically, bit for bit (tests/unit/test_resample.py, tests/e2e/test_geometries.py).
docs/data.md states it for users. With L = max(H, W):

- L <= 32, enlarge: k = max(1, 28 // L); each source pixel becomes a k x k block (nearest neighbour). The
  image keeps LeNet's 2-pixel margin when it can: 28x28 (k = 1) is MNIST's layout, 8x8 becomes 24x24
  (k = 3), 14x14 becomes 28x28, 32x32 fills the field.
- L > 32, shrink: d = ceil(L / 32); each d x d block of source pixels becomes one field pixel, the rounded
  mean floor((sum + d*d // 2) / (d*d)); a block reaching past the image's right or bottom edge counts the
  missing pixels as background. 64x48 becomes 32x24 (d = 2); 100x100 becomes 25x25 (d = 4).
- The result (h x w = ceil(H*k/d) x ceil(W*k/d)) is centred: top = (32 - h) // 2, left = (32 - w) // 2;
  every other field pixel is the background level.

The engines then apply q = pixel - 128 (float model: x = 0.005 * pixel - 0.1). Every step is integer; no
rounding differs between implementations. The ONNX graph computes the same sums as two matrix products
with 0/1 matrices (`matrices`), exact in float32 because every value stays below 2^18.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelenet.errors import UserError
from edgelenet.family import FIELD_SIDE, check_input_size

MARGIN_BOX = 28   # enlarged images fit a 28x28 box: the paper's 2-pixel margin around the image


@dataclass(frozen=True)
class Plan:
    height: int      # source geometry
    width: int
    up: int          # k: enlargement factor (1 when shrinking)
    down: int        # d: block side of the shrink (1 when enlarging)
    out_h: int       # size of the resampled image inside the field
    out_w: int
    top: int
    left: int

    @property
    def block(self) -> int:
        """Source pixels summed per field pixel (d*d); the divisor of the rounded mean."""
        return self.down * self.down

    @property
    def is_padding(self) -> bool:
        """No resizing: the image is only placed in the field (28x28, 32x32, ...)."""
        return self.up == 1 and self.down == 1


def plan(input_size) -> Plan:
    height, width = check_input_size(list(input_size))
    side = max(height, width)
    if side <= FIELD_SIDE:
        up, down = max(1, MARGIN_BOX // side), 1
        out_h, out_w = height * up, width * up
    else:
        up, down = 1, -(-side // FIELD_SIDE)
        out_h, out_w = -(-height // down), -(-width // down)
    return Plan(height, width, up, down, out_h, out_w, (FIELD_SIDE - out_h) // 2, (FIELD_SIDE - out_w) // 2)


def to_field(pixels: np.ndarray, input_size, background: int) -> np.ndarray:
    """uint8 (N, H, W) or (N, 1, H, W) source images -> uint8 (N, 32, 32) fields."""
    p = plan(input_size)
    pixels = np.asarray(pixels)
    if pixels.ndim == 4 and pixels.shape[1] == 1:
        pixels = pixels[:, 0]
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3 or pixels.shape[1:] != (p.height, p.width):
        raise UserError(f"images of shape {tuple(pixels.shape[1:])} given to a model made for "
                        f"{p.height}x{p.width} images")
    pixels = pixels.astype(np.uint8, copy=False)
    if p.up > 1:
        image = pixels.repeat(p.up, axis=1).repeat(p.up, axis=2)
    elif p.down > 1:
        d = p.down
        padded = np.full((len(pixels), p.out_h * d, p.out_w * d), background, np.int32)
        padded[:, :p.height, :p.width] = pixels
        sums = padded.reshape(len(pixels), p.out_h, d, p.out_w, d).sum(axis=(2, 4))
        image = ((sums + p.block // 2) // p.block).astype(np.uint8)
    else:
        image = pixels
    field = np.full((len(pixels), FIELD_SIDE, FIELD_SIDE), background, np.uint8)
    field[:, p.top:p.top + p.out_h, p.left:p.left + p.out_w] = image
    return field


def matrices(input_size, background: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows (32, H), cols (W, 32), fill (32, 32)) with field_sum = rows @ image @ cols + fill.

    rows[y, i] = 1 when source row i feeds field row y (cols likewise); fill adds the background for every
    summed position outside the image, so that field = floor((field_sum + d*d // 2) / (d*d)).
    """
    p = plan(input_size)
    rows = _axis_matrix(p.height, p.top, p.out_h, p.up, p.down)
    cols = _axis_matrix(p.width, p.left, p.out_w, p.up, p.down).T
    covered = rows.sum(axis=1)[:, None] * cols.sum(axis=0)[None, :]   # source pixels inside each block
    fill = background * (p.block - covered)
    return rows.astype(np.float32), cols.astype(np.float32), fill.astype(np.float32)


def _axis_matrix(size: int, start: int, out: int, up: int, down: int) -> np.ndarray:
    matrix = np.zeros((FIELD_SIDE, size), np.int64)
    for y in range(start, start + out):
        first = (y - start) // up * down   # up == 1 or down == 1
        matrix[y, first:min(first + down, size)] = 1
    return matrix
