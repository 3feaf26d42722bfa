"""Collect, then compute: run the float model over the calibration images, feed each recorded tensor to
its own observer, and read off one Range per tensor."""

from __future__ import annotations

import numpy as np
import torch

from calibration.observers import Range, make_observer
from edgelenet.errors import UserError

BATCH = 500


def collect_ranges(model, images: np.ndarray, method: str) -> dict[str, Range]:
    """Range per recorded tensor name (see LeNet5.forward) over uint8 images (N, H, W) of the model's size."""
    if len(images) == 0:
        raise UserError("the calibration set is empty")
    height, width = model.data.input_size
    if images.ndim != 3 or images.shape[1:] != (height, width) or images.dtype != np.uint8:
        raise UserError(f"calibration images must be uint8 (N, {height}, {width}) for this model, got "
                        f"{images.dtype} {images.shape}")
    make_observer(method)  # validate the name before any work
    observers: dict[str, object] = {}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            record: dict[str, torch.Tensor] = {}
            model.forward_pixels(torch.from_numpy(images[start:start + BATCH]), record=record)
            for name, tensor in record.items():
                observers.setdefault(name, make_observer(method)).observe(tensor.numpy())
    return {name: observer.compute() for name, observer in observers.items()}
