"""What the CLI commands do, one function each, so the CLI stays a thin layer of options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.evaluate import accuracy_report, plot_confusion
from edgelenet.fileio import ensure_dir
from edgelenet.model import logits_numpy


def train_and_test(arch: str, head: str, epochs: int | None, seed: int, out: Path, limit: int | None,
                   data_dir: Path | None, console: Console) -> dict:
    from edgelenet.train import TrainConfig, accuracy, train, write_outputs

    cfg = TrainConfig(arch=arch, head=head, seed=seed, train_limit=limit)
    if epochs is not None:
        cfg.epochs = epochs
    cfg.validate()
    ensure_dir(out)
    data = load_mnist(data_dir)
    result = train(cfg, data, console)
    return write_outputs(cfg, result, out, accuracy(result.model, data.test))


def evaluate_model(model_spec: str, out: Path, data_dir: Path | None) -> dict:
    model, _ = load_checkpoint(model_spec)
    ensure_dir(out)
    test = load_mnist(data_dir).test
    predictions = logits_numpy(model, test.images).argmax(1)
    report = accuracy_report(test.labels, predictions)
    name = Path(str(model_spec)).stem
    report["confusion_png"] = str(plot_confusion(np.array(report["confusion_matrix"]), out / f"confusion_{name}.png",
                                                 f"{name}: {report['accuracy']:.2%} on {report['n']:,} test images"))
    return report
