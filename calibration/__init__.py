"""Calibration for int8 post-training quantization: which images, and which value range per tensor."""

from calibration.observers import OBSERVERS, Range, make_observer
from calibration.selection import select_calibration_set

__all__ = ["OBSERVERS", "Range", "make_observer", "select_calibration_set"]
