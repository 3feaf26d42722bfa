"""The quantized-model artifact: the one file that export-onnx, export-c, validate and predict read.

A safetensors file (loading it runs no code) holding
- per layer: int8 weights, int32 biases, int32 requantization multipliers, shifts, optional int8 tanh
  lookup table, the float weight scales (for ONNX) and, for C3 of `classic`, the connection table;
- the float model it came from (`float.*` tensors), so validate can compare int8 against float;
- ONE metadata entry `edgelenet`, canonical JSON (sorted keys): format name and version, architecture, every
  layer's shapes, activations and quantization parameters, the calibration settings, the quantization
  report, the family keys `widths`, `classes`, `input_size`, `background`, `dataset` (edgelenet/family.py;
  absent for the paper's network on MNIST), `pool_activation` (classic; absent for the paper's squash), and
  `sha256`, a checksum over all tensors and the rest of the JSON, verified on load.
Saving the same model twice gives the same bytes (one metadata entry, because safetensors orders several
in an unspecified way; sorted keys; no timestamps).
Loading goes through edgelenet/schema.py: the checksum proves nothing against an attacker (anyone can
recompute it), so every value is checked against the architecture before any consumer sees it.
This module imports no torch: the float model is built by `edgelenet.model.float_model_of`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import save as st_save

from edgelenet import schema
from edgelenet.fileio import write_bytes_atomic
from edgelenet.family import DEFAULT_WIDTHS, DataInfo, family_metadata, read_family_metadata
from edgelenet.schema_model import check_layers

FORMAT = "edgelenet-int8"
VERSION = 1
DTYPES = ("F32", "F64", "I8", "I32", "U8")


@dataclass(frozen=True)
class QParams:
    """Affine int8 quantization: real = scale * (q - zero_point)."""
    scale: float
    zero_point: int


@dataclass
class QLayer:
    name: str                    # C1, S2, C3, S4, C5, F6, OUTPUT
    kind: str                    # "conv" (kernel, stride, groups) or "linear"
    in_shape: list[int]          # (C, H, W) or (F,)
    out_shape: list[int]         # after pooling, as stored
    input: QParams
    output: QParams
    activation: str              # "none", "relu" (fused clamp at the zero point) or "tanh" (lookup table)
    weights: np.ndarray          # int8 (Cout, Cin/groups, k, k) or (Cout, Fin)
    weight_scales: np.ndarray    # float64 (Cout,), symmetric: w = scale * q
    bias: np.ndarray             # int32 (Cout,) at scale input.scale * weight_scales
    multiplier: np.ndarray       # int32 (Cout,): accumulator -> `pre` (tanh) or `output`
    shift: np.ndarray            # int8 (Cout,)
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    pool: str = "none"           # "max": 2x2 max pooling after the activation (modern)
    pre: QParams | None = None   # the tanh input, for activation == "tanh"
    lut: np.ndarray | None = None        # int8 (256,): output for pre value q at index q + 128
    connections: np.ndarray | None = None  # uint8 (Cout, Cin): C3's partial connection table

    TENSORS = ("weights", "weight_scales", "bias", "multiplier", "shift", "lut", "connections")

    def describe(self) -> dict:
        info = {k: v for k, v in asdict(self).items() if k not in self.TENSORS}
        info["input"], info["output"] = asdict(self.input), asdict(self.output)
        info["pre"] = asdict(self.pre) if self.pre else None
        return info


@dataclass
class QuantizedModel:
    arch: str
    head: str
    input: QParams
    layers: list[QLayer]
    float_state: dict[str, np.ndarray]
    calibration: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    checksum: str = ""
    widths: tuple = DEFAULT_WIDTHS        # (C1, C3, C5, F6)
    data: DataInfo = field(default_factory=DataInfo)
    pool_activation: str = "squash"       # classic: after S2/S4, "squash" (paper) or "none" (family.py)

    @property
    def logits(self) -> QParams:
        return self.layers[-1].output

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    def layer(self, name: str) -> QLayer:
        return next(layer for layer in self.layers if layer.name == name)


def _digest(tensors: dict[str, np.ndarray], body: dict) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(str(tensors[name].dtype).encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    return digest.hexdigest()


def artifact_bytes(model: QuantizedModel) -> bytes:
    tensors = {f"float.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in model.float_state.items()}
    for layer in model.layers:
        for name in QLayer.TENSORS:
            value = getattr(layer, name)
            if value is not None:
                tensors[f"{layer.name}.{name}"] = np.ascontiguousarray(value)
    body = {
        "format": FORMAT, "version": VERSION, "arch": model.arch, "head": model.head,
        "input": asdict(model.input), "layers": [layer.describe() for layer in model.layers],
        "calibration": model.calibration, "report": model.report, **family_metadata(model.widths, model.data,
                                                                                 model.pool_activation),
    }
    body["sha256"] = model.checksum = _digest(tensors, body)
    return st_save(tensors, metadata={"edgelenet": json.dumps(body, sort_keys=True)})


def save_artifact(model: QuantizedModel, path: Path) -> Path:
    return write_bytes_atomic(Path(path), artifact_bytes(model))


def _qparams(info: dict | None) -> QParams | None:
    return QParams(float(info["scale"]), int(info["zero_point"])) if info else None


def load_artifact(path: Path) -> QuantizedModel:
    """Read, verify and validate an artifact; any defect is a one-line UserError that names the file."""
    path = Path(path)
    tensors, info = schema.read_safetensors(path, "artifact", DTYPES)
    check = schema.Checker(path)
    schema.check_header(check, info, FORMAT, VERSION, "int8 artifact")
    if _digest(tensors, {k: v for k, v in info.items() if k != "sha256"}) != info["sha256"]:
        check.fail("checksum mismatch, the artifact is corrupt or was modified")
    family = schema.model_family(check, info)
    layers = check_layers(check, family, info, tensors)
    state = {k[len("float."):]: v for k, v in tensors.items() if k.startswith("float.")}
    state = schema.check_float_state(check, family, state, "float tensors")
    for key in ("calibration", "report"):
        if not isinstance(info.get(key, {}), dict):
            check.fail(f"{key} must be a JSON object")
    return _from_parts(info, layers, state)


def _from_parts(info: dict, specs: list[dict], float_state: dict[str, np.ndarray]) -> QuantizedModel:
    """The QuantizedModel of checked parts (schema_model.check_layers gives each layer's fields and tensors)."""
    layers = []
    for spec in specs:
        fields = {k: v for k, v in spec.items() if k not in ("input", "output", "pre")}
        layers.append(QLayer(**fields, input=_qparams(spec["input"]), output=_qparams(spec["output"]),
                             pre=_qparams(spec["pre"])))
    widths, data = read_family_metadata(info, "artifact")  # already checked by schema.model_family
    return QuantizedModel(info["arch"], info["head"], _qparams(info["input"]), layers, float_state,
                          info.get("calibration", {}), info.get("report", {}), info["sha256"], widths, data,
                          info.get("pool_activation", "squash"))
