"""The one validating reader of the two files edgelenet loads: float checkpoints and int8 artifacts.

Both are safetensors files (an 8-byte header length, a JSON header, raw tensor bytes) with one `edgelenet`
metadata entry. Everything in them is untrusted: a checksum proves only that the bytes were not changed
since someone recomputed it, so nothing here relies on it. The reader
- bounds the file, the header and the metadata JSON in size and nesting depth *before* parsing them
  (no RecursionError, no gigabyte header), and refuses NaN/Infinity literals;
- accepts only the dtypes the format uses (float32 and float64, int8, int32, uint8): bfloat16 or
  float16 tensors are refused before any tensor is decoded;
- returns plain dicts and numpy arrays; the checks of the tensors against the architecture are in
  `edgelenet.schema_model` (layers) and here (the float state).
It imports no torch, so the artifact path (and therefore firmware_export) works without it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np

from edgelenet.errors import UserError

MAX_FILE_BYTES = 64 << 20     # real artifacts are ~0.5 MB, checkpoints ~0.25 MB
MAX_HEADER_BYTES = 1 << 20    # the safetensors JSON header, metadata included (real: ~10 kB)
MAX_JSON_DEPTH = 24           # nesting of the metadata (real files: 5)
DTYPES = {"F32": np.float32, "F64": np.float64, "I8": np.int8, "I32": np.int32, "U8": np.uint8}
HEX64 = re.compile(r"[0-9a-f]{64}")

ARCHS = ("classic", "modern")
HEADS = ("softmax", "rbf")
POOL_ACTIVATIONS = ("squash", "none")   # classic: after S2/S4 (absent: squash, the paper's)
DEFAULT_WIDTHS = (6, 16, 120, 84)
WIDTH_LIMITS = ((1, 64), (1, 64), (1, 1024), (1, 1024))   # C1, C3, C5, F6
CLASS_LIMITS = (2, 100)
RBF_UNITS, RBF_CLASSES = 84, 10   # the paper's RBF prototypes: ten 7x12 digit bitmaps


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str | bytes, what: str, max_bytes: int = MAX_HEADER_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """json.loads with the size and nesting depth checked first; any defect is a UserError naming `what`."""
    if len(text) > max_bytes:
        raise UserError(f"{what}: {len(text):,} bytes of JSON exceeds the limit of {max_bytes:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{what}: not UTF-8 text") from None
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):  # brackets outside strings
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > max_depth:
        raise UserError(f"{what}: JSON nested {deepest} levels deep (the limit is {max_depth})")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:   # JSONDecodeError, NaN literals, over-long integers
        raise UserError(f"{what}: malformed JSON ({str(exc).splitlines()[0][:200]})") from None


def open_regular(path: Path, what: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file; missing, unreadable, special or oversized files are UserErrors."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UserError(f"{what} {path} is {kind}")
        if info.st_size > max_bytes:
            raise UserError(f"{path}: {info.st_size:,} bytes is far too large for an edgelenet {what}")
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except PermissionError:
        raise UserError(f"{what} {path}: permission denied") from None
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None


PRETRAINED = ("classic", "modern")   # the checkpoints shipped inside the package


def resolve_model_path(spec: str | Path) -> Path:
    """A checkpoint or artifact path, or `classic` / `modern` for the checkpoints shipped in the package."""
    if str(spec) in PRETRAINED:
        from importlib import resources

        return Path(str(resources.files("edgelenet") / "pretrained" / f"{spec}.safetensors"))
    return Path(spec)


def read_metadata(path: Path) -> dict:
    """The `edgelenet` JSON of a checkpoint or artifact ({} when the file has none), size and depth bounded."""
    return read_safetensors(path, "model file", tuple(DTYPES))[1]


def read_safetensors(path: Path, what: str, dtypes: tuple[str, ...]) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, the `edgelenet` metadata dict) of a safetensors file, every structural claim checked."""
    raw = open_regular(path, what)
    if len(raw) < 8:
        raise UserError(f"{path}: too short to be a safetensors {what} (truncated or corrupt)")
    size = int.from_bytes(raw[:8], "little")
    if size > MAX_HEADER_BYTES or 8 + size > len(raw):
        raise UserError(f"{path}: safetensors header of {size:,} bytes does not fit the file or the limit (truncated or corrupt)")
    header = parse_json(raw[8:8 + size], f"{path}: safetensors header")
    if not isinstance(header, dict):
        raise UserError(f"{path}: safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise UserError(f"{path}: safetensors metadata must map names to strings")
    data = memoryview(raw)[8 + size:]
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: _offsets(path, item)):
        begin, stop = _offsets(path, (name, entry))
        dtype, shape = entry.get("dtype"), entry.get("shape")
        if dtype not in dtypes:
            raise UserError(f"{path}: tensor {name!r} has dtype {dtype!r}; an edgelenet {what} holds only "
                            f"{', '.join(dtypes)}")
        if not (isinstance(shape, list) and len(shape) <= 4 and all(_is_int(d) and 0 <= d <= 1 << 24 for d in shape)):
            raise UserError(f"{path}: tensor {name!r} has a malformed shape {str(shape)[:80]}")
        count = math.prod(shape)
        if begin != end or stop - begin != count * np.dtype(DTYPES[dtype]).itemsize or stop > len(data):
            raise UserError(f"{path}: tensor {name!r} data offsets do not match its shape or the file (truncated or corrupt)")
        tensors[name] = np.frombuffer(data[begin:stop], DTYPES[dtype]).reshape(shape).copy()
        end = stop
    if end != len(data):
        raise UserError(f"{path}: {len(data) - end:,} bytes after the last tensor (truncated or padded file)")
    body = parse_json(metadata.get("edgelenet", "{}"), f"{path}: edgelenet metadata")
    if not isinstance(body, dict):
        raise UserError(f"{path}: edgelenet metadata is not a JSON object")
    return tensors, body


def _offsets(path: Path, item) -> tuple[int, int]:
    name, entry = item
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(v) for v in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise UserError(f"{path}: tensor {str(name)[:64]!r} has malformed data offsets")
    return offsets[0], offsets[1]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Checker:
    """Collects the file's name so that every refusal reads `<file>: <where>: <problem>`."""

    def __init__(self, source: Path | str):
        self.source = source

    def fail(self, message: str):
        raise UserError(f"{self.source}: {message}")

    def integer(self, value, lo: int, hi: int, what: str) -> int:
        if not _is_int(value) or not lo <= value <= hi:
            self.fail(f"{what} must be an integer in [{lo}, {hi}], got {_show(value)}")
        return value

    def number(self, value, what: str, lo: float = -math.inf, hi: float = math.inf) -> float:
        if not _is_number(value) or not lo <= value <= hi:
            self.fail(f"{what} must be a finite number in [{lo}, {hi}], got {_show(value)}")
        return float(value)

    def choice(self, value, choices: tuple, what: str):
        if value not in choices or isinstance(value, bool):
            self.fail(f"{what} must be one of {', '.join(map(str, choices))}, got {_show(value)}")
        return value

    def fields(self, value, what: str, required: set[str], optional: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.fail(f"{what} must be a JSON object, got {_show(value)}")
        missing, unknown = required - set(value), set(value) - required - set(optional)
        if missing or unknown:
            self.fail(f"{what}: " + "; ".join(filter(None, [
                missing and f"missing {', '.join(sorted(missing))}",
                unknown and f"unknown {', '.join(sorted(_show(k) for k in unknown))}"])))
        return value

    def shape(self, value, expected: list[int], what: str) -> list[int]:
        if value != expected or not all(_is_int(v) for v in value):
            self.fail(f"{what} must be {expected}, got {_show(value)}")
        return value

    def tensor(self, tensors: dict, name: str, dtype, shape: tuple, required: bool = True) -> np.ndarray | None:
        array = tensors.get(name)
        if array is None:
            if required:
                self.fail(f"tensor {name} is missing")
            return None
        if array.dtype != np.dtype(dtype) or tuple(array.shape) != tuple(shape):
            self.fail(f"tensor {name} must be {np.dtype(dtype).name} {tuple(shape)}, "
                      f"got {array.dtype.name} {tuple(array.shape)}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            self.fail(f"tensor {name} holds NaN or infinite values")
        return array


def _show(value) -> str:
    text = json.dumps(value) if not isinstance(value, (set, frozenset)) else str(sorted(value))
    return text if len(text) <= 60 else text[:57] + "..."


def model_family(check: Checker, body: dict) -> dict:
    """arch, head, widths, class names and the classic pool activation (with the defaults of files that
    predate them), all checked."""
    arch = check.choice(body.get("arch"), ARCHS, "arch")
    head = check.choice(body.get("head"), HEADS, "head")
    if arch == "modern" and head != "softmax":
        check.fail("the modern variant has a softmax output only")
    pool_activation = check.choice(body.get("pool_activation", "squash"), POOL_ACTIVATIONS, "pool_activation")
    if arch == "modern" and pool_activation != "squash":
        check.fail("pool_activation applies to the classic variant only")
    widths = body.get("widths", list(DEFAULT_WIDTHS))
    if not isinstance(widths, list) or len(widths) != 4:
        check.fail(f"widths must be a list [C1, C3, C5, F6], got {_show(widths)}")
    for name, width, (lo, hi) in zip(("C1", "C3", "C5", "F6"), widths, WIDTH_LIMITS):
        check.integer(width, lo, hi, f"widths: {name}")
    classes = body.get("classes", [str(d) for d in range(10)])
    if not isinstance(classes, list) or not CLASS_LIMITS[0] <= len(classes) <= CLASS_LIMITS[1]:
        check.fail(f"classes must be a list of {CLASS_LIMITS[0]} to {CLASS_LIMITS[1]} names")
    for name in classes:
        if not (isinstance(name, str) and 1 <= len(name) <= 64 and name.isprintable()):
            check.fail(f"class name {_show(name)} is not 1 to 64 printable characters")
    if len(set(classes)) != len(classes):
        check.fail("class names must be unique")
    if head == "rbf" and (widths[3], len(classes)) != (RBF_UNITS, RBF_CLASSES):
        check.fail(f"the rbf head needs F6 = {RBF_UNITS} and {RBF_CLASSES} classes (its digit prototypes)")
    if "input_size" in body:
        size = body["input_size"]
        if not isinstance(size, list) or len(size) != 2:
            check.fail(f"input_size must be [H, W], got {_show(size)}")
        for side in size:
            check.integer(side, 1, 1024, "input_size")
    if "background" in body:
        check.integer(body["background"], 0, 255, "background")
    if "dataset" in body:
        dataset = check.fields(body["dataset"], "dataset", {"name", "fingerprint"})
        if not (isinstance(dataset["name"], str) and 1 <= len(dataset["name"]) <= 200 and dataset["name"].isprintable()):
            check.fail("dataset name must be 1 to 200 printable characters")
        if not (isinstance(dataset["fingerprint"], str) and HEX64.fullmatch(dataset["fingerprint"])):
            check.fail("dataset fingerprint must be 64 lowercase hex digits")
    return {"arch": arch, "head": head, "widths": tuple(widths), "classes": list(classes),
            "pool_activation": pool_activation}


def float_state_shapes(family: dict) -> dict[str, tuple[int, ...]]:
    """The state dict of `LeNet5` for an architecture, head and widths: names and shapes, without torch."""
    c1, c3, c5, f6 = family["widths"]
    n = len(family["classes"])
    shapes = {"c1.weight": (c1, 1, 5, 5), "c1.bias": (c1,), "c3.weight": (c3, c1, 5, 5), "c3.bias": (c3,),
              "c5.weight": (c5, c3, 5, 5), "c5.bias": (c5,), "f6.weight": (f6, c5), "f6.bias": (f6,)}
    if family["arch"] == "classic":
        shapes.update({"s2.coefficient": (c1,), "s2.bias": (c1,), "s4.coefficient": (c3,), "s4.bias": (c3,)})
    if family["head"] == "softmax":
        shapes.update({"output.weight": (n, f6), "output.bias": (n,)})
    return shapes


def check_float_state(check: Checker, family: dict, state: dict[str, np.ndarray], what: str) -> dict:
    """float32 tensors with exactly the names and shapes of the architecture, all finite."""
    shapes = float_state_shapes(family)
    extra, missing = sorted(set(state) - set(shapes)), sorted(set(shapes) - set(state))
    if extra or missing:
        check.fail(f"{what} do not match the {family['arch']} architecture (widths {list(family['widths'])}, "
                   f"{len(family['classes'])} classes): " + (f"unexpected tensor {extra[0][:64]!r}" if extra
                                                             else f"tensor {missing[0]} is missing"))
    return {name: check.tensor(state, name, np.float32, shape) for name, shape in shapes.items()}


def check_header(check: Checker, body: dict, fmt: str, version: int, what: str) -> None:
    if body.get("format") != fmt:
        check.fail(f"not an edgelenet {what} (format {_show(body.get('format'))})")
    if not _is_int(body.get("version")) or body["version"] > version:
        check.fail(f"{what} format version {_show(body.get('version'))} is newer than this edgelenet reads "
                   f"({version}); upgrade edgelenet")
    check.integer(body["version"], 1, version, "version")
    if not isinstance(body.get("sha256"), str) or not HEX64.fullmatch(body["sha256"]):
        check.fail("sha256 must be 64 lowercase hex digits")


EPOCH_FIELDS = {"epoch", "loss", "train_accuracy", "valid_accuracy"}
EPOCH_OPTIONAL = {"images_per_second", "seconds"}


def check_training(check: Checker, training) -> dict:
    """A checkpoint's `training` record: free-form, except `history`, which `run --model` plots."""
    if not isinstance(training, dict):
        check.fail(f"training must be a JSON object, got {_show(training)}")
    history = training.get("history")
    if history is None:
        return training
    if not isinstance(history, list) or len(history) > 10_000:
        check.fail("training history must be a list of at most 10,000 epochs")
    for index, record in enumerate(history):
        check.fields(record, f"training history[{index}]", EPOCH_FIELDS, EPOCH_OPTIONAL)
        check.integer(record["epoch"], 0, 1_000_000, f"training history[{index}] epoch")
        for name in sorted(set(record) - {"epoch"}):
            check.number(record[name], f"training history[{index}] {name}")
    return training
