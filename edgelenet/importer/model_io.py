"""The imported layers as an edgelenet model of the family, and its logits on source-size images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgelenet.errors import UserError
from edgelenet.family import MNIST_DATASET, MNIST_INPUT_SIZE, DataInfo, ModelConfig
from edgelenet.model import LeNet5


# Recorded when the data set is not given: no data set has this fingerprint, so commands ask for --data.
UNSPECIFIED_DATASET = {"name": "unspecified", "fingerprint": "0" * 64}


def data_info(count: int, input_size: tuple, background: int, data: Path | None,
              given: tuple | None) -> tuple[DataInfo, list]:
    """(what the imported model was made for, the model output that scores each of its classes).

    With `--data`: that data set, its classes in its order (`given`, the model's own output order, is
    mapped onto them). Without: the classes `given` or 0..N-1; a 10-class 28x28 model with digit classes
    is an MNIST model, any other records an unspecified data set, so that evaluate, quantize and validate
    ask for `--data` rather than measure it on MNIST."""
    if data is not None:
        from edgelenet.datasets import load_dataset

        dataset = load_dataset(Path(data))
        if tuple(dataset.input_size) != tuple(input_size):
            raise UserError(f"--data {data}: images are {dataset.input_size[0]}x{dataset.input_size[1]}, the model "
                            f"reads {input_size[0]}x{input_size[1]}")
        if len(dataset.classes) != count:
            raise UserError(f"--data {data}: {len(dataset.classes)} classes, the model has {count} outputs")
        info = DataInfo(classes=dataset.classes, input_size=tuple(input_size), background=background,
                        dataset={"name": dataset.name, "fingerprint": dataset.fingerprint})
        return info, output_order(given, info.classes)
    digits = tuple(str(i) for i in range(count))
    names = given if given is not None else digits
    mnist = count == 10 and tuple(input_size) == MNIST_INPUT_SIZE and tuple(names) == digits
    info = DataInfo(classes=names, input_size=tuple(input_size), background=background,
                    dataset=dict(MNIST_DATASET if mnist else UNSPECIFIED_DATASET))
    return info, list(range(count))


def make_model(arch: str, widths: tuple, info: DataInfo, pool_activation: str = "squash") -> LeNet5:
    """An untrained family member with the imported geometry (weights are loaded by the caller)."""
    return LeNet5(ModelConfig(arch=arch, head="softmax", widths=tuple(int(w) for w in widths),
                              num_classes=info.num_classes, pool_activation=pool_activation), info)


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
