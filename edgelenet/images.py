"""Image files (PNG, JPEG, BMP) -> uint8 grayscale arrays (H, W), with memory bounded before decoding.

Gray from colour, in integers (ITU-R BT.601 luma, the weights of JPEG and of PIL's "L"):

    gray = (299 * R + 587 * G + 114 * B + 500) // 1000

Alpha is ignored (the colour channels are used as stored); palette images are looked up first; 1-bit
images become 0 / 255. 16-bit and other modes are refused. The header's size is checked before a single
pixel is decoded: sides of at most MAX_SIDE, and PIL's decompression-bomb limit set to that bound, so a
file that claims 20000x20000 is one clean error, never a 1.2 GB allocation.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

from edgelenet.errors import UserError
from edgelenet.family import MAX_SIDE

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX")


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 (..., 3) -> uint8 (...): the documented integer luma."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    return ((299 * r + 587 * g + 114 * b + 500) // 1000).astype(np.uint8)


@contextlib.contextmanager
def _opened(path: Path):
    """PIL's Image.open with its decompression-bomb limit at MAX_SIDE^2 pixels (warning and error both
    UserErrors) and every decoder failure turned into one UserError naming the file."""
    from PIL import Image, UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE  # PIL warns above this and raises above twice it
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_size(path, image.size[1], image.size[0])
                yield image
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UserError(f"{path}: image is too large to decode ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"{path}: not a readable image ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) from the header only; refuses unreadable files and sizes beyond MAX_SIDE."""
    with _opened(path) as image:
        return image.size[1], image.size[0]


def _check_size(path: Path, height: int, width: int) -> None:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise UserError(f"{path}: image is {width}x{height}; edgelenet reads images of at most "
                        f"{MAX_SIDE}x{MAX_SIDE} pixels")


def read_gray(path: Path) -> np.ndarray:
    """uint8 (H, W) of an image file, converted to gray by rgb_to_gray."""
    with _opened(path) as image:
        if image.mode not in MODES:
            raise UserError(f"{path}: image mode {image.mode} is not 8-bit gray, palette or RGB")
        image.load()
        return _to_gray(image)


def _to_gray(image) -> np.ndarray:
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
    if image.mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8)
    array = np.asarray(image, dtype=np.uint8)
    if image.mode in ("L",):
        return array
    if image.mode == "LA":
        return array[..., 0]
    return rgb_to_gray(array[..., :3])
