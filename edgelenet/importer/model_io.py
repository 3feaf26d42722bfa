"""The imported layers as an edgelenet model, and its logits on images of the source size."""

from __future__ import annotations

import numpy as np
import torch

from edgelenet.errors import UserError
from edgelenet.model import INPUT_SIDE, PIXEL_OFFSET, PIXEL_SCALE, LeNet5, ModelConfig


def make_model(arch: str, widths: tuple, classes: tuple, input_size: tuple, background: int) -> LeNet5:
    """An untrained family member with the imported geometry (weights are loaded by the caller)."""
    if tuple(widths) != (6, 16, 120, 84) or len(classes) != 10 or tuple(input_size) != (28, 28) or background:
        raise UserError(f"widths {widths}, {len(classes)} classes, input {input_size}, background {background}: "
                        "this edgelenet reads the paper's widths, ten classes and 28x28 images only")
    return LeNet5(ModelConfig(arch=arch, head="softmax"))


def field(pixels: np.ndarray, background: int) -> torch.Tensor:
    """uint8 (N, H, W) centred in the 32x32 field filled with `background`, as float (N, 1, 32, 32) x."""
    n, h, w = pixels.shape
    top, left = (INPUT_SIDE - h) // 2, (INPUT_SIDE - w) // 2
    canvas = np.full((n, INPUT_SIDE, INPUT_SIDE), background, dtype=np.uint8)
    canvas[:, top:top + h, left:left + w] = pixels
    return torch.from_numpy(canvas).float().unsqueeze(1) * PIXEL_SCALE + PIXEL_OFFSET


def imported_logits(model: LeNet5, pixels: np.ndarray, background: int) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(field(pixels, background)).double().numpy()
