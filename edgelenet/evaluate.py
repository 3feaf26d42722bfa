"""Accuracy on a labelled set and the confusion-matrix figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgelenet.fileio import atomic_path


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """(classes, classes) counts: row = true label, column = predicted label."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def plot_confusion(matrix: np.ndarray, path: Path, title: str, names=None) -> Path:
    """The matrix on a log colour scale, axes labelled with the class names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = len(matrix)
    # user text: `$` would start matplotlib's mathtext, so escape it
    names = [str(n)[:12].replace("$", r"\$") for n in (names if names is not None else range(size))]
    title = title.replace("$", r"\$")
    side = min(5 + 0.18 * max(size - 10, 0), 16)
    fig, ax = plt.subplots(figsize=(side + 0.5, side))
    # log scale: the diagonal holds ~1000 per class, the errors a handful, and both must be readable
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count and len(matrix) <= 30:
            colour = "white" if shown[row, col] > shown.max() / 2 else "black"
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    font = 8 if size <= 20 else 5
    ax.set_xticks(range(size), names, rotation=90 if max(map(len, names)) > 2 else 0,
                  fontsize=font)
    ax.set_yticks(range(size), names, fontsize=font)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def accuracy_report(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> dict:
    matrix = confusion_matrix(labels, predictions, classes)
    n = int(len(labels))
    return {
        "accuracy": float(np.trace(matrix) / n) if n else 0.0,
        "n": n,
        "errors": int(n - np.trace(matrix)),
        "confusion_matrix": matrix.tolist(),
    }
