"""The imported layers as an edgelenet model of the family, and its logits on source-size images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgelenet.errors import UserError
from edgelenet.family import MNIST_DATASET, MNIST_INPUT_SIZE, DataInfo, ModelConfig
from edgelenet.model import LeNet5


def data_info(count: int, input_size: tuple, background: int, data: Path | None) -> DataInfo:
    """What the imported model was made for: the data set of `--data`, or MNIST for a 10-class 28x28 model.
    The classes are the data set's, in its order (`output_order` maps the model's outputs onto them).

    The data set is recorded so that evaluate/validate measure the model on the data it was made for; a
    model of other classes or geometry needs `--data` to say which that is."""
    if data is not None:
        from edgelenet.datasets import load_dataset

        dataset = load_dataset(Path(data))
        if tuple(dataset.input_size) != tuple(input_size):
            raise UserError(f"--data {data}: images are {dataset.input_size[0]}x{dataset.input_size[1]}, the model "
                            f"reads {input_size[0]}x{input_size[1]}")
        if len(dataset.classes) != count:
            raise UserError(f"--data {data}: {len(dataset.classes)} classes, the model has {count} outputs")
        return DataInfo(classes=dataset.classes, input_size=tuple(input_size), background=background,
                        dataset={"name": dataset.name, "fingerprint": dataset.fingerprint})
    if count != 10 or tuple(input_size) != MNIST_INPUT_SIZE:
        raise UserError(f"a model with {count} classes on {input_size[0]}x{input_size[1]} images is not an MNIST "
                        "model: give --data PATH, the data set it was made for (its test split is enough)")
    return DataInfo(input_size=tuple(input_size), background=background, dataset=dict(MNIST_DATASET))


def make_model(arch: str, widths: tuple, info: DataInfo) -> LeNet5:
    """An untrained family member with the imported geometry (weights are loaded by the caller)."""
    return LeNet5(ModelConfig(arch=arch, head="softmax", widths=tuple(int(w) for w in widths),
                              num_classes=info.num_classes), info)


def imported_logits(model: LeNet5, pixels: np.ndarray) -> np.ndarray:
    """(N, classes) float logits for uint8 (N, H, W) source images, through edgelenet's own data path."""
    model.eval()
    with torch.no_grad():
        return model.forward_pixels(torch.from_numpy(pixels)).double().numpy()


def output_order(given: tuple | None, classes: tuple) -> list:
    """For each class of the data set, the model output that scores it: `--classes` names the model's
    outputs in order, a permutation of the data set's classes (None: the same order)."""
    if given is None:
        return list(range(len(classes)))
    if sorted(given) != sorted(classes):
        shown = ",".join(classes) if len(",".join(classes)) <= 200 else ",".join(classes)[:200] + "..."
        raise UserError(f"--classes must name the outputs with the data set's classes, in the model's order: {shown}")
    return [given.index(name) for name in classes]
