"""The interface every runtime implements, below the registry that names them (edgelenet/runtime_registry.py).

A runtime maps uint8 pixels (N, H, W) of the model's input size to logits (N, classes): float logits for the
float runtimes, int8 logits for the int8 ones. A runtime that cannot run here (missing compiler, missing
package) raises `RuntimeUnavailable` when built.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class RuntimeUnavailable(Exception):
    """The runtime cannot run on this machine (the reason is the message)."""


class Runtime(Protocol):
    name: str
    int8: bool

    def logits(self, pixels: np.ndarray) -> np.ndarray: ...
