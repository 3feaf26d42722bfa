"""A corpus of hostile model files, made by code from valid ones (no binary blobs in the repository).

Each case edits the metadata and tensors of a valid artifact or checkpoint and recomputes the checksum the
way edgelenet/artifact.py and checkpoint.py do, as an attacker can: the checksum proves nothing, so every
case must be refused by the schema itself. `Case.pattern` is a regex the one-line error must contain.
Files are written by a small safetensors writer of our own, so that dtypes numpy lacks (bfloat16) and
malformed headers can be crafted too.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgelenet import artifact, checkpoint

CODES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int8): "I8",
         np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8", np.dtype(np.int64): "I64",
         np.dtype(np.float16): "F16", np.dtype(np.int16): "I16"}


@dataclass
class Case:
    name: str
    data: bytes
    pattern: str      # regex the error line must match


@dataclass
class Raw:
    """A tensor numpy cannot hold (e.g. bfloat16): safetensors dtype code, shape and bytes."""
    dtype: str
    shape: list[int]
    data: bytes


def safetensors_bytes(tensors: dict, metadata_text: str | None) -> bytes:
    """A safetensors file: 8-byte little-endian header length, JSON header, then the tensors in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        value = tensors[name]
        if isinstance(value, Raw):
            code, shape, blob = value.dtype, value.shape, value.data
        else:
            code, shape, blob = CODES[value.dtype], list(value.shape), np.ascontiguousarray(value).tobytes()
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata_text is not None:
        header["__metadata__"] = {"edgelenet": metadata_text}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def parts(raw: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata without sha256, tensors) of a valid file written by edgelenet."""
    from safetensors.numpy import load

    size = struct.unpack("<Q", raw[:8])[0]
    body = json.loads(json.loads(raw[8:8 + size])["__metadata__"]["edgelenet"])
    body.pop("sha256")
    return body, {k: v.copy() for k, v in load(raw).items()}


def pack(body: dict, tensors: dict, digest: Callable) -> bytes:
    """The file with the checksum recomputed as edgelenet does (when every tensor is a numpy array)."""
    body = dict(body)
    if all(isinstance(v, np.ndarray) for v in tensors.values()):
        try:
            body["sha256"] = digest(tensors, body)
        except (TypeError, ValueError):   # NaN/huge values json.dumps refuses: any checksum will do
            body["sha256"] = "0" * 64
    else:
        body["sha256"] = "0" * 64
    return safetensors_bytes(tensors, json.dumps(body, sort_keys=True))


def edited(raw: bytes, edit: Callable[[dict, dict], None], digest=artifact._digest) -> bytes:
    body, tensors = parts(raw)
    edit(body, tensors)
    return pack(body, tensors, digest)


def _set(path: tuple, value) -> Callable[[dict, dict], None]:
    def edit(body, tensors):
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _tensor(name: str, change: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[dict, dict], None]:
    def edit(body, tensors):
        result = change(tensors[name])
        if result is None:
            del tensors[name]
        else:
            tensors[name] = result
    return edit


def _layer_index(body: dict, name: str) -> int:
    return [layer["name"] for layer in body["layers"]].index(name)


def _reshape_layer(name: str, weights_shape: tuple, in_shape: list) -> Callable[[dict, dict], None]:
    """A layer whose weights and in_shape agree with each other but not with the architecture."""
    def edit(body, tensors):
        tensors[f"{name}.weights"] = np.ones(weights_shape, np.int8)
        body["layers"][_layer_index(body, name)]["in_shape"] = in_shape
    return edit


def _rename_c1(new: str) -> Callable[[dict, dict], None]:
    def edit(body, tensors):
        body["layers"][0]["name"] = new
        for key in [k for k in tensors if k.startswith("C1.")]:
            tensors[new + key[2:]] = tensors.pop(key)
    return edit


def _values(name: str, index, value, dtype=None) -> Callable[[dict, dict], None]:
    def change(array):
        array = array.astype(dtype) if dtype else array.copy()
        array.reshape(-1)[index] = value
        return array
    return _tensor(name, change)


def _deep_json(raw: bytes, depth: int = 100_000) -> bytes:
    body, tensors = parts(raw)
    body["sha256"] = "0" * 64
    text = json.dumps(body, sort_keys=True)
    return safetensors_bytes(tensors, text[:-1] + ', "zz": ' + "[" * depth + "]" * depth + "}")


INJECTION = 'C1\n#define edgelenet_pwn __attribute__((constructor)) static void pwn(void) { system("id"); }\n'


def artifact_cases(modern: bytes, classic: bytes) -> list[Case]:
    """Crafted artifacts: every defect of the issue and more. `modern`, `classic`: valid artifact bytes."""
    m, c = (lambda edit: edited(modern, edit)), (lambda edit: edited(classic, edit))
    bf16 = parts(modern)[1]
    bf16["C1.weight_scales"] = Raw("BF16", [6], bytes(12))
    header = bytearray(modern)
    header[:8] = struct.pack("<Q", 1 << 40)
    body, tensors = parts(modern)
    nan_scale = json.dumps(dict(body, sha256="0" * 64), sort_keys=True).replace('"scale": 0.005', '"scale": NaN', 1)
    return [
        Case("c-injection-layer-name", m(_rename_c1(INJECTION)), "unexpected tensor"),
        Case("c-injection-name-only", m(_set(("layers", 0, "name"), INJECTION)), "name must be 'C1'"),
        Case("c-injection-arch", m(_set(("arch",), "modern */ #include </etc/passwd> /*")), "arch must be one of"),
        Case("c-injection-class-name", m(_set(("classes",), [f"{d}\n#error" for d in range(10)])), "printable"),
        Case("unknown-layer-name", m(_rename_c1("X1")), "unexpected tensor 'X1"),
        Case("tanh-table-10", c(_tensor("C1.lut", lambda a: a[:10])), r"C1\.lut must be int8 \(256,\)"),
        Case("tanh-table-empty", c(_tensor("C3.lut", lambda a: a[:0])), r"C3\.lut must be int8 \(256,\)"),
        Case("tanh-table-missing", c(_tensor("F6.lut", lambda a: None)), r"F6\.lut is missing"),
        Case("c3-16-input-maps", m(_reshape_layer("C3", (16, 16, 5, 5), [16, 14, 14])), "in_shape must be"),
        Case("c1-2-channels", m(_reshape_layer("C1", (6, 2, 5, 5), [2, 32, 32])), "in_shape must be"),
        Case("output-fan-in-2000", m(_reshape_layer("OUTPUT", (10, 2000), [2000])), "in_shape must be"),
        Case("c5-in-shape-8", m(_set(("layers", 2, "in_shape"), [8])), "in_shape must be"),
        Case("c3-weights-16-maps", m(_tensor("C3.weights", lambda a: np.ones((16, 16, 5, 5), np.int8))),
             r"C3\.weights must be int8 \(16, 6, 5, 5\)"),
        Case("shift-0", m(_values("C1.shift", 0, 0)), "shifts must lie in"),
        Case("shift-minus-5", m(_values("C3.shift", 1, -5)), "shifts must lie in"),
        Case("shift-127", m(_values("OUTPUT.shift", 2, 127)), "shifts must lie in"),
        Case("multiplier-2^33", m(_values("C1.multiplier", 0, 1 << 33, np.int64)), "dtype 'I64'"),
        Case("multiplier-negative", m(_values("F6.multiplier", 0, -5)), "multipliers must lie in"),
        Case("zero-point-2^70", m(_set(("layers", 1, "output", "zero_point"), 1 << 70)), "zero point must be"),
        Case("zero-point-float", m(_set(("layers", 1, "output", "zero_point"), 3.5)), "zero point must be"),
        Case("scale-zero", m(_set(("layers", 0, "output", "scale"), 0.0)), "scale must be a finite number"),
        Case("scale-negative", m(_set(("layers", 3, "output", "scale"), -0.1)), "scale must be a finite number"),
        Case("scale-huge", m(_set(("layers", 3, "output", "scale"), 1e300)), "scale must be a finite number"),
        Case("scale-nan", safetensors_bytes(tensors, nan_scale), "NaN is not a number JSON allows"),
        Case("weight-scale-nan", m(_values("C5.weight_scales", 0, np.nan)), "NaN or infinite"),
        Case("weight-scale-zero", m(_values("C5.weight_scales", 0, 0.0)), "weight scales must be finite"),
        Case("weights-minus-128", m(_values("F6.weights", 0, -128)), "weights must lie in"),
        Case("bias-overflows-accumulator", m(_values("C5.bias", 0, (1 << 31) - 1)), "accumulator bound"),
        Case("bias-int64", m(_tensor("C5.bias", lambda a: a.astype(np.int64))), "dtype 'I64'"),
        Case("missing-bias", m(_tensor("C3.bias", lambda a: None)), r"C3\.bias is missing"),
        Case("nan-float-weights", m(_values("float.c1.weight", 0, np.nan)), "NaN or infinite"),
        Case("float-tensor-missing", m(_tensor("float.f6.bias", lambda a: None)), "f6.bias is missing"),
        Case("float-tensor-float64", m(_tensor("float.f6.bias", lambda a: a.astype(np.float64))), "must be float32"),
        Case("bfloat16-tensor", pack(parts(modern)[0], bf16, artifact._digest), "dtype 'BF16'"),
        Case("unknown-tensor", m(_set_tensor("EVIL.weights", np.zeros(4, np.int8))), "unexpected tensor"),
        Case("empty-layer-list", m(_set(("layers",), [])), "layers must list"),
        Case("layers-not-a-list", m(_set(("layers",), {"C1": 1})), "layers must list"),
        Case("layer-extra-field", m(_set(("layers", 0, "evil"), "1")), "unknown"),
        Case("layer-missing-field", m(lambda b, t: b["layers"][4].pop("activation")), "missing activation"),
        Case("kernel-3", m(_set(("layers", 0, "kernel"), 3)), "kernel must be 5"),
        Case("kernel-true", m(_set(("layers", 2, "kernel"), True)), "kernel must be 1"),
        Case("pool-none-on-modern", m(_set(("layers", 0, "pool"), "none")), "pool must be 'max'"),
        Case("input-qparams", m(_set(("input", "scale"), 0.004)), "input quantization"),
        Case("broken-chain", m(_set(("layers", 2, "input", "zero_point"), 5)), "differs from the previous"),
        Case("lut-on-relu", m(_set_tensor("C1.lut", np.zeros(256, np.int8))), "tanh table on a layer without"),
        Case("pre-missing", c(_set(("layers", 0, "pre"), None)), "`pre`"),
        Case("subsampling-unequal", c(_values("S2.weights", 1, 7)), "four weights must be equal"),
        Case("connections-2", c(_values("C3.connections", 0, 2)), "other than 0 and 1"),
        Case("connections-on-modern", m(_set_tensor("C3.connections", np.ones((16, 6), np.uint8))), "connection table"),
        Case("deep-json", _deep_json(modern), "nested"),
        Case("huge-header", bytes(header), "does not fit"),
        Case("not-json-header", struct.pack("<Q", 16) + b"{{{{{{{{{{{{{{{{" + bytes(64), "malformed JSON"),
        Case("truncated", modern[: len(modern) // 3], "truncated or corrupt"),
        Case("empty-file", b"", "too short"),
        Case("padded", modern + bytes(100), "after the last tensor"),
        Case("checksum-wrong", safetensors_bytes(tensors, json.dumps(dict(body, sha256="1" * 64))), "checksum mismatch"),
        Case("version-2", m(_set(("version",), 2)), "newer than this edgelenet"),
        Case("version-0", m(_set(("version",), 0)), "version must be"),
        Case("format-checkpoint", m(_set(("format",), "edgelenet-checkpoint")), "not an edgelenet int8 artifact"),
        Case("modern-rbf", m(_set(("head",), "rbf")), "softmax output only"),
        Case("widths-mismatch", m(_set(("widths",), [6, 16, 120, 83])), r"must be|\(83"),
        Case("widths-zero", m(_set(("widths",), [0, 16, 120, 84])), "widths: C1"),
        Case("widths-2000", m(_set(("widths",), [6, 16, 2000, 84])), "widths: C5"),
        Case("classes-duplicate", m(_set(("classes",), ["a"] * 10)), "unique"),
        Case("classes-one", m(_set(("classes",), ["a"])), "classes must be a list"),
        Case("classes-count-mismatch", m(_set(("classes",), [str(d) for d in range(11)])), "must be"),
        Case("input-size-zero", m(_set(("input_size",), [0, 28])), "input_size"),
        Case("background-300", m(_set(("background",), 300)), "background"),
        Case("dataset-fingerprint", m(_set(("dataset",), {"name": "x", "fingerprint": "XYZ"})), "fingerprint"),
        Case("calibration-not-object", m(_set(("calibration",), [1, 2])), "calibration must be"),
    ]


def _set_tensor(name: str, value: np.ndarray) -> Callable[[dict, dict], None]:
    def edit(body, tensors):
        tensors[name] = value
    return edit


def checkpoint_cases(valid: bytes) -> list[Case]:
    """Crafted float checkpoints. `valid`: the bytes of a valid (modern) checkpoint."""
    def k(edit):
        return edited(valid, edit, checkpoint._digest)
    body, tensors = parts(valid)
    bf16 = {name: Raw("BF16", list(t.shape), (t.view(np.uint32) >> 16).astype(np.uint16).tobytes())
            for name, t in tensors.items()}
    return [
        Case("ckpt-bfloat16", pack(body, bf16, checkpoint._digest), "dtype 'BF16'"),
        Case("ckpt-float64", k(_tensor("c1.bias", lambda a: a.astype(np.float64))), "dtype 'F64'"),
        Case("ckpt-missing-tensor", k(_tensor("f6.weight", lambda a: None)), "f6.weight is missing"),
        Case("ckpt-extra-tensor", k(_set_tensor("evil", np.zeros(3, np.float32))), "unexpected tensor"),
        Case("ckpt-wrong-shape", k(_tensor("c3.weight", lambda a: np.zeros((16, 16, 5, 5), np.float32))), "must be float32"),
        Case("ckpt-nan", k(_values("c5.weight", 7, np.nan)), "NaN or infinite"),
        Case("ckpt-inf", k(_values("output.bias", 0, np.inf)), "NaN or infinite"),
        Case("ckpt-training-list", k(_set(("training",), [1, 2])), "training must be"),
        Case("ckpt-history-strings", k(_set(("training", "history"), ["epoch 1"])), r"history\[0\]"),
        Case("ckpt-history-extra-key", k(_set(("training", "history"), [
            {"epoch": 1, "loss": 0.1, "train_accuracy": 0.9, "valid_accuracy": 0.9, "evil": 1}])), "unknown"),
        Case("ckpt-history-text-loss", k(_set(("training", "history"), [
            {"epoch": 1, "loss": "x", "train_accuracy": 0.9, "valid_accuracy": 0.9}])), "loss must be"),
        Case("ckpt-deep-json", _deep_json(valid), "nested"),
        Case("ckpt-arch", k(_set(("arch",), "resnet")), "arch must be one of"),
        Case("ckpt-version-9", k(_set(("version",), 9)), "newer than this edgelenet"),
        Case("ckpt-truncated", valid[:-100], "truncated or corrupt"),
        Case("ckpt-widths", k(_set(("widths",), [6, 16, 120])), "widths must be"),
    ]
