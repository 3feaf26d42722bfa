"""Shared fixtures. Expensive objects are session-scoped (one per xdist worker).

The int8 artifacts are quantized from the checkpoints shipped in the package with a small calibration set,
so tests need no training; tests that train use a few thousand images and one epoch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

# Two xdist workers on two cores: one thread each, or torch's thread pools fight over the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def mnist():
    from edgelenet.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def test_subset(mnist):
    """The first 1,000 official test images (labels included)."""
    return mnist.test.subset(1000)


def _quantize(arch: str, mnist, method: str = "minmax", size: int = 1000):
    """The product defaults (`edgelenet quantize`: minmax, 1,000 class-balanced training images, seed 0)."""
    from calibration.selection import select_calibration_set
    from edgelenet.checkpoint import load_checkpoint
    from edgelenet.quantize import quantize_model

    model, _ = load_checkpoint(arch)
    images = select_calibration_set(mnist.train, size, seed=0)
    qmodel, _ = quantize_model(model, images, method, calibration_info={"source": "mnist-train", "seed": 0})
    return qmodel


@pytest.fixture(scope="session")
def modern_int8(mnist):
    return _quantize("modern", mnist)


@pytest.fixture(scope="session")
def classic_int8(mnist):
    return _quantize("classic", mnist)


@pytest.fixture(scope="session", params=["modern", "classic"])
def int8_model(request, mnist):
    return _quantize(request.param, mnist)


@pytest.fixture(scope="session")
def artifact_path(tmp_path_factory, modern_int8) -> Path:
    """The modern int8 artifact on disk."""
    from edgelenet.artifact import save_artifact

    return save_artifact(modern_int8, tmp_path_factory.mktemp("artifact") / "modern-int8.safetensors")


@pytest.fixture(scope="session")
def classic_artifact_path(tmp_path_factory, classic_int8) -> Path:
    from edgelenet.artifact import save_artifact

    return save_artifact(classic_int8, tmp_path_factory.mktemp("artifact") / "classic-int8.safetensors")


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)
