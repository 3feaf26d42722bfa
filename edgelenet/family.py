"""The LeNet-5 family and what a model knows about its data; no torch here (artifact.py and the C exporter
read it too).

A family member is LeNet-5's topology (C1 5x5 conv, S2 2x2 pool, C3 5x5 conv, S4 2x2 pool, C5 5x5 conv to
1x1, F6 full, OUTPUT full) on the 32x32 field, with any channel widths (C1, C3, C5, F6) and 2..100 classes.
`ModelConfig()` is the paper's network: widths 6, 16, 120, 84 and ten digit classes.

`DataInfo` is what a model records about the data it was made for: class names, the source image geometry
(H x W, resampled into the 32x32 field by edgelenet/resample.py), the background level that fills the field
around the image, and the data set's name and fingerprint. In checkpoint and artifact metadata these are the
top-level keys `widths`, `classes`, `input_size`, `background` and `dataset`. A model made for MNIST with the
paper's widths writes none of them (files without them mean exactly that), so its files stay byte-identical
with those of earlier edgelenet versions, the shipped checkpoints included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from edgelenet.errors import UserError

ARCHS = ("classic", "modern")
HEADS = ("softmax", "rbf")
# classic: the activation after S2/S4 subsampling. "squash" is the paper's; "none" (identity) is the LeNet of
# Keras and d2l tutorials, whose average pooling feeds the next convolution directly and whose C3 is fully
# connected (the paper's C3 table belongs to the paper's network: ModelConfig.c3_table).
POOL_ACTIVATIONS = ("squash", "none")
DEFAULT_WIDTHS = (6, 16, 120, 84)
WIDTH_NAMES = ("C1", "C3", "C5", "F6")
WIDTH_LIMITS = ((1, 64), (1, 64), (1, 1024), (1, 1024))
MIN_CLASSES, MAX_CLASSES = 2, 100
MAX_CLASS_NAME = 64
MAX_SIDE = 1024
MAX_DATASET_NAME = 200
FIELD_SIDE = 32

MNIST_CLASSES = tuple(str(d) for d in range(10))
MNIST_INPUT_SIZE = (28, 28)
# fingerprint() of MNIST's official 10k test split (tests/unit/test_family.py recomputes it)
MNIST_FINGERPRINT = "9a24e1839e0c38ca8728d52b178803abb4bc52308e980a4e5f301fc53f1ce29d"
MNIST_DATASET = {"name": "mnist", "fingerprint": MNIST_FINGERPRINT}

# C3 map -> the S2 maps it reads (paper, table I); only defined for the paper's widths C1=6, C3=16.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5),
)


# The model's fixed numbers, shared by the torch model (model.py) and the torch-free exporters.
SQUASH_A = 1.7159      # paper, appendix A: f(a) = A tanh(S a)
SQUASH_S = 2.0 / 3.0
PIXEL_SCALE = 0.005    # (1.175 - (-0.1)) / 255: x = 0.005 * pixel - 0.1

# 7x12 bitmaps of the digits; '#' is +1, '.' is -1 (the RBF prototypes of the OUTPUT layer).
DIGIT_BITMAPS = {
    0: ".......|..###..|.#...#.|#.....#|#.....#|#.....#|#.....#|#.....#|#.....#|.#...#.|..###..|.......",
    1: ".......|...#...|..##...|.#.#...|...#...|...#...|...#...|...#...|...#...|...#...|.#####.|.......",
    2: ".......|.####..|#....#.|......#|......#|.....#.|....#..|...#...|..#....|.#.....|#######|.......",
    3: ".......|######.|.....#.|....#..|...#...|..###..|.....#.|......#|......#|#....#.|.####..|.......",
    4: ".......|.....#.|....##.|...#.#.|..#..#.|.#...#.|#....#.|#######|.....#.|.....#.|.....#.|.......",
    5: ".......|#######|#......|#......|#####..|.....#.|......#|......#|......#|#....#.|.####..|.......",
    6: ".......|...##..|..#....|.#.....|#......|#.###..|##...#.|#.....#|#.....#|.#...#.|..###..|.......",
    7: ".......|#######|......#|.....#.|....#..|....#..|...#...|...#...|..#....|..#....|..#....|.......",
    8: ".......|..###..|.#...#.|#.....#|.#...#.|..###..|.#...#.|#.....#|#.....#|.#...#.|..###..|.......",
    9: ".......|..###..|.#...#.|#.....#|#.....#|.#...##|..###.#|......#|.....#.|....#..|..##...|.......",
}


def prototype_rows() -> list[list[float]]:
    """10 rows of 84 values +-1: the fixed parameter vectors of the RBF output units, digit by digit."""
    return [[1.0 if ch == "#" else -1.0 for ch in DIGIT_BITMAPS[d].replace("|", "")] for d in range(10)]


def fingerprint(images, labels) -> str:
    """sha256 of a test split: its shape line `N H W`, the uint8 pixels (row-major) and the labels as
    little-endian int64. Two splits with the same fingerprint hold the same images with the same labels."""
    import hashlib

    import numpy as np

    images = np.ascontiguousarray(images, dtype=np.uint8)
    digest = hashlib.sha256(("%d %d %d\n" % images.shape).encode())
    digest.update(images.tobytes())
    digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return digest.hexdigest()


def c3_connections(c1: int, c3: int, table: bool = True) -> tuple[tuple[int, ...], ...]:
    """C3 map -> the S2 maps it reads. The paper's table for widths 6/16; every other pair of widths is
    fully connected (the table's purpose, breaking symmetry between 16 maps of 6 inputs, has no canonical
    generalisation, and full connection is what the modern variant uses anyway). table=False: fully
    connected at any widths (ModelConfig.c3_table)."""
    if table and (c1, c3) == (6, 16):
        return C3_TABLE
    return tuple(tuple(range(c1)) for _ in range(c3))


def parse_widths(text: str | None) -> tuple[int, int, int, int]:
    """`--widths C1,C3,C5,F6` -> a checked tuple (None: the paper's widths)."""
    if text is None:
        return DEFAULT_WIDTHS
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4 or not all(re.fullmatch(r"[0-9]{1,5}", p) for p in parts):
        raise UserError(f"--widths {text!r}: give four integers C1,C3,C5,F6, e.g. 6,16,120,84")
    widths = tuple(int(p) for p in parts)
    check_widths(widths)
    return widths


def check_widths(widths) -> tuple[int, int, int, int]:
    if (not isinstance(widths, (tuple, list)) or len(widths) != 4
            or not all(isinstance(w, int) and not isinstance(w, bool) for w in widths)):
        raise UserError(f"widths must be four integers C1,C3,C5,F6, got {widths!r}")
    for name, width, (lo, hi) in zip(WIDTH_NAMES, widths, WIDTH_LIMITS):
        if not lo <= width <= hi:
            raise UserError(f"width of {name} must lie in {lo}..{hi}, got {width}")
    return tuple(widths)


def check_num_classes(count) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or not MIN_CLASSES <= count <= MAX_CLASSES:
        raise UserError(f"the number of classes must lie in {MIN_CLASSES}..{MAX_CLASSES}, got {count!r}")
    return count


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "modern"
    head: str = "softmax"
    widths: tuple = DEFAULT_WIDTHS   # (C1, C3, C5, F6)
    num_classes: int = 10
    pool_activation: str = "squash"   # classic only: after S2/S4, the squash (paper) or none

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise UserError(f"unknown --arch {self.arch!r}: choose one of {', '.join(ARCHS)}")
        if self.head not in HEADS:
            raise UserError(f"unknown --head {self.head!r}: choose one of {', '.join(HEADS)}")
        if self.arch == "modern" and self.head != "softmax":
            raise UserError("the modern variant has a softmax output only")
        if self.pool_activation not in POOL_ACTIVATIONS:
            raise UserError(f"unknown pool activation {self.pool_activation!r}: choose one of "
                            f"{', '.join(POOL_ACTIVATIONS)}")
        if self.arch == "modern" and self.pool_activation != "squash":
            raise UserError("the pool activation applies to the classic variant (subsampling) only")
        object.__setattr__(self, "widths", check_widths(tuple(self.widths) if isinstance(self.widths, list)
                                                        else self.widths))
        check_num_classes(self.num_classes)
        if self.head == "rbf" and (self.num_classes != 10 or self.widths[3] != 84):
            raise UserError("the RBF output has ten fixed 7x12 digit prototypes: it needs 10 classes and F6 = 84")

    @property
    def c3_table(self) -> bool:
        """C3 reads S2 through the paper's table (at widths 6/16): the paper's classic network only; the
        tutorial LeNet (pool_activation "none") and modern are fully connected."""
        return self.arch == "classic" and self.pool_activation == "squash"


def check_class_names(names, count: int | None = None) -> tuple[str, ...]:
    """Class names: 1..64 printable characters each, unique; they reach C only as escaped literals."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise UserError(f"class names must be a list of strings, got {type(names).__name__}")
    check_num_classes(len(names))
    for name in names:
        if not 1 <= len(name) <= MAX_CLASS_NAME or not name.isprintable():
            raise UserError(f"class name {name[:80]!r} must be 1..{MAX_CLASS_NAME} printable characters")
    if len(set(names)) != len(names):
        raise UserError("class names must be unique")
    if count is not None and len(names) != count:
        raise UserError(f"{len(names)} class names for a model with {count} outputs")
    return tuple(names)


def check_input_size(size) -> tuple[int, int]:
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_SIDE for s in size)):
        raise UserError(f"input size must be [height, width], each 1..{MAX_SIDE}, got {size!r}")
    return (size[0], size[1])


def check_dataset(dataset) -> dict:
    if not isinstance(dataset, dict) or set(dataset) != {"name", "fingerprint"}:
        raise UserError("dataset must be {name, fingerprint}")
    name, fingerprint = dataset["name"], dataset["fingerprint"]
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_DATASET_NAME or not name.isprintable():
        raise UserError(f"data set name must be 1..{MAX_DATASET_NAME} printable characters")
    if not isinstance(fingerprint, str) or not re.fullmatch(r"[0-9a-f]{64}", fingerprint):
        raise UserError("data set fingerprint must be 64 lowercase hex digits")
    return {"name": name, "fingerprint": fingerprint}


@dataclass(frozen=True)
class DataInfo:
    """What a model was made for: its classes, source geometry, background level and data set."""
    classes: tuple = MNIST_CLASSES
    input_size: tuple = MNIST_INPUT_SIZE   # (H, W) of the source images
    background: int = 0                    # uint8 level around the resampled image in the 32x32 field
    dataset: dict = field(default_factory=lambda: dict(MNIST_DATASET))

    def __post_init__(self):
        object.__setattr__(self, "classes", check_class_names(list(self.classes)))
        object.__setattr__(self, "input_size", check_input_size(list(self.input_size)))
        if not isinstance(self.background, int) or isinstance(self.background, bool) or not 0 <= self.background <= 255:
            raise UserError(f"background must be a pixel level 0..255, got {self.background!r}")
        object.__setattr__(self, "dataset", check_dataset(dict(self.dataset)))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def is_mnist(self) -> bool:
        return self.dataset["name"] == "mnist" and self.dataset["fingerprint"] == MNIST_FINGERPRINT


def family_metadata(widths, info: DataInfo, pool_activation: str = "squash") -> dict:
    """The metadata keys for a model; none at all for the paper's widths on MNIST (see the module doc).
    `pool_activation` is written only when it is not the paper's squash (files without it mean squash)."""
    body = {"widths": list(widths), "classes": list(info.classes), "input_size": list(info.input_size),
            "background": info.background, "dataset": dict(info.dataset)}
    if tuple(widths) == DEFAULT_WIDTHS and info == DataInfo():
        body = {}
    if pool_activation != "squash":
        body["pool_activation"] = pool_activation
    return body


def read_family_metadata(metadata: dict, where: str) -> tuple[tuple, DataInfo]:
    """(widths, DataInfo) from checkpoint or artifact metadata; absent keys mean the MNIST defaults."""
    try:
        widths = check_widths(metadata.get("widths", list(DEFAULT_WIDTHS)))
        info = DataInfo(classes=metadata.get("classes", MNIST_CLASSES),
                        input_size=metadata.get("input_size", MNIST_INPUT_SIZE),
                        background=metadata.get("background", 0),
                        dataset=metadata.get("dataset", MNIST_DATASET))
    except UserError as exc:
        raise UserError(f"{where}: malformed model metadata: {exc}") from None
    return widths, info
