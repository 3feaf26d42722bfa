"""Accuracy on a labelled set and the confusion-matrix figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgelenet.data import NUM_CLASSES
from edgelenet.fileio import atomic_path


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """(10, 10) counts: row = true label, column = predicted label."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def plot_confusion(matrix: np.ndarray, path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    # log scale: the diagonal holds ~1000 per class, the errors a handful, and both must be readable
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if shown[row, col] > shown.max() / 2 else "black"
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def accuracy_report(labels: np.ndarray, predictions: np.ndarray) -> dict:
    matrix = confusion_matrix(labels, predictions)
    n = int(len(labels))
    return {
        "accuracy": float(np.trace(matrix) / n) if n else 0.0,
        "n": n,
        "errors": int(n - np.trace(matrix)),
        "confusion_matrix": matrix.tolist(),
    }
