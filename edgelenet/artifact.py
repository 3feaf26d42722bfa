"""The quantized-model artifact: the one file that export-onnx, export-c, validate and predict read.

A safetensors file (loading it runs no code) holding
- per layer: int8 weights, int32 biases, int32 requantization multipliers, shifts, optional int8 tanh
  lookup table, the float weight scales (for ONNX) and, for C3 of `classic`, the connection table;
- the float model it came from (`float.*` tensors), so validate can compare int8 against float;
- ONE metadata entry `edgelenet`, canonical JSON (sorted keys): format name and version, architecture, every
  layer's shapes, activations and quantization parameters, the calibration settings, the quantization
  report, the family keys `widths`, `classes`, `input_size`, `background`, `dataset` (edgelenet/family.py;
  absent for the paper's network on MNIST), and `sha256`, a checksum over all tensors and the rest of the JSON, verified on load.
Saving the same model twice gives the same bytes (one metadata entry, because safetensors orders several
in an unspecified way; sorted keys; no timestamps).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from edgelenet.errors import UserError
from edgelenet.fileio import write_bytes_atomic
from edgelenet.family import DEFAULT_WIDTHS, DataInfo, ModelConfig, family_metadata, read_family_metadata

FORMAT = "edgelenet-int8"
VERSION = 1
MAX_ARTIFACT_BYTES = 64 << 20  # real artifacts are ~0.5 MB; refuse anything absurd before reading it


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

    @property
    def logits(self) -> QParams:
        return self.layers[-1].output

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    def float_model(self):
        """The float LeNet5 the artifact was made from (imports torch: only callers that need it pay)."""
        from edgelenet.model import model_from_state

        return model_from_state(self.arch, self.head, self.float_state, self.widths, self.num_classes, self.data)

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
        "calibration": model.calibration, "report": model.report, **family_metadata(model.widths, model.data),
    }
    body["sha256"] = model.checksum = _digest(tensors, body)
    return st_save(tensors, metadata={"edgelenet": json.dumps(body, sort_keys=True)})


def save_artifact(model: QuantizedModel, path: Path) -> Path:
    return write_bytes_atomic(Path(path), artifact_bytes(model))


def _qparams(info: dict | None) -> QParams | None:
    return QParams(float(info["scale"]), int(info["zero_point"])) if info else None


def load_artifact(path: Path) -> QuantizedModel:
    """Read and verify an artifact; any defect is a UserError that names the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"artifact not found: {path}")
    if path.stat().st_size > MAX_ARTIFACT_BYTES:
        raise UserError(f"{path}: {path.stat().st_size} bytes is far too large for an edgelenet artifact")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            info = json.loads((handle.metadata() or {}).get("edgelenet") or "{}")
        tensors = st_load(path.read_bytes())
    except (SafetensorError, OSError, ValueError, MemoryError) as exc:
        raise UserError(f"{path}: not a readable edgelenet artifact ({exc})") from None
    try:
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise UserError(f"{path}: not an edgelenet int8 artifact (format {info.get('format') if isinstance(info, dict) else None!r})")
        if not isinstance(info.get("version"), int) or info["version"] > VERSION:
            raise UserError(f"{path}: artifact format version {info.get('version')} is newer than this "
                            f"edgelenet reads ({VERSION}); upgrade edgelenet")
        if _digest(tensors, {k: v for k, v in info.items() if k != "sha256"}) != info.get("sha256"):
            raise UserError(f"{path}: checksum mismatch, the artifact is corrupt or was modified")
        return _from_parts(info, tensors, info["sha256"])
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: artifact metadata is malformed ({exc!r})") from None


def _from_parts(info: dict, tensors: dict[str, np.ndarray], checksum: str) -> QuantizedModel:
    layers = []
    for spec in info["layers"]:
        arrays = {name: tensors.get(f"{spec['name']}.{name}") for name in QLayer.TENSORS}
        fields = {k: v for k, v in spec.items() if k not in ("input", "output", "pre")}
        layers.append(QLayer(**fields, **arrays, input=_qparams(spec["input"]), output=_qparams(spec["output"]),
                             pre=_qparams(spec["pre"])))
    float_state = {k[len("float."):]: v for k, v in tensors.items() if k.startswith("float.")}
    widths, data = read_family_metadata(info, "artifact")
    model = QuantizedModel(info["arch"], info["head"], _qparams(info["input"]), layers, float_state,
                           info.get("calibration", {}), info.get("report", {}), checksum, widths, data)
    ModelConfig(model.arch, model.head, widths, data.num_classes)
    if layers[-1].out_shape != [data.num_classes]:
        raise UserError(f"artifact: {len(data.classes)} class names for {layers[-1].out_shape} logits")
    return model
