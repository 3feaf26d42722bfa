"""Read a PyTorch state dict (.pt) into a Chain (ops.py).

`torch.load(weights_only=True)` admits tensors and plain containers only, so loading runs no code from the
file. A state dict names tensors but says nothing about activations, pooling or padding: it is read as the
most common PyTorch LeNet, ReLU with 2x2 max pooling and C1 padded by 2 on a 28x28 input (or unpadded on a
32x32 one, `input_size`). A tanh or sigmoid network is imported from its ONNX export instead.

Layers are matched by shape and order: the five weight tensors (4D convolutions, 2D linear layers) must chain
as C1 (C1,1,5,5), C3 (C3,C1,5,5), C5 (C5,C3,5,5) or (C5,25*C3), F6 (F6,C5), OUTPUT (K,F6). If the file's
order does not chain and exactly one other order does, that one is used; otherwise `--map` names them:
`c1=conv1,c3=conv2,c5=fc1,f6=fc2,output=fc3` (module prefixes). A BatchNorm (prefix with running_mean)
right after a layer in the file's order is folded into it, with PyTorch's default eps 1e-5.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from edgelenet.errors import UserError
from edgelenet.importer.ops import Act, Affine, Chain, Conv, Dense, Flatten, Pool

MAX_BYTES = 64 << 20
STAGES = ("c1", "c3", "c5", "f6", "output")
BN_EPS = 1e-5
NESTED_KEYS = ("state_dict", "model_state_dict", "model")


def load_state_dict(path: Path) -> dict:
    import torch

    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UserError(f"{path}: {size} bytes is larger than any LeNet-5-family state dict ({MAX_BYTES} max)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load on untrusted bytes raises many types; all mean "bad file"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: not a PyTorch state dict readable with weights_only=True ({first[:200]})") from None
    for key in NESTED_KEYS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise UserError(f"{path}: expected a state dict (name -> tensor), e.g. torch.save(model.state_dict(), ...)")
    out = {}
    for name, tensor in data.items():
        try:
            value = tensor.detach().double().numpy() if tensor.is_floating_point() else tensor.numpy()
        except (RuntimeError, TypeError) as exc:   # quantized, sparse or meta tensors
            raise UserError(f"{path}: tensor {name!r} is not a plain float tensor ({exc})") from None
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise UserError(f"{path}: tensor {name!r} holds NaN or infinity")
        out[str(name)] = value
    return out


def _vector(get, prefix: str, leaf: str, size: int, default: float | None) -> np.ndarray:
    """A 1D float tensor `prefix.leaf` of `size` values (or `default` everywhere when it is absent)."""
    value = get(leaf)
    if value is None and default is not None:
        return np.full(size, default)
    if value is None or value.dtype.kind != "f" or value.shape != (size,):
        shown = "missing" if value is None else f"{value.dtype} {tuple(value.shape)}"
        raise UserError(f"state dict entry {prefix}.{leaf} must hold {size} float values, found {shown}")
    return value


def _batchnorm(get, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) of a BatchNorm in eval mode: gamma / sqrt(var + eps), beta - mean * scale."""
    mean = get("running_mean")
    size = mean.shape[0] if mean.ndim == 1 else -1
    mean = _vector(get, prefix, "running_mean", size, None)
    var = _vector(get, prefix, "running_var", size, None)
    if np.any(var + BN_EPS <= 0):
        raise UserError(f"BatchNorm {prefix!r}: negative running_var")
    scale = _vector(get, prefix, "weight", size, 1.0) / np.sqrt(var + BN_EPS)
    return scale, _vector(get, prefix, "bias", size, 0.0) - mean * scale


def _group(tensors: dict) -> tuple[list, dict]:
    """(weight layers [(prefix, weight, bias)] in file order, batch norms {prefix: (scale, offset)})."""
    prefixes = list(dict.fromkeys(name.rsplit(".", 1)[0] if "." in name else "" for name in tensors))
    layers, norms = [], {}
    for prefix in prefixes:
        get = lambda leaf: tensors.get(f"{prefix}.{leaf}" if prefix else leaf)  # noqa: E731
        weight = get("weight")
        if get("running_mean") is not None:
            norms[prefix] = _batchnorm(get, prefix)
        elif weight is not None and weight.ndim in (2, 4) and weight.dtype.kind == "f":
            layers.append((prefix, weight, _vector(get, prefix, "bias", weight.shape[0], 0.0)))
        else:
            leaves = sorted(n.rsplit(".", 1)[-1] for n in tensors if n.startswith(prefix))
            raise UserError(f"state dict entry {prefix!r} ({', '.join(leaves)}) is not a convolution, linear "
                            "layer or BatchNorm")
    return layers, norms


def _chains(w: list) -> bool:
    """True when five weights chain as C1, C3, C5, F6, OUTPUT (see the module doc)."""
    c1, c3, c5, f6, out = w
    if c1.ndim != 4 or c3.ndim != 4 or f6.ndim != 2 or out.ndim != 2:
        return False
    c5_in = c5.shape[1:] == (c3.shape[0], 5, 5) if c5.ndim == 4 else c5.shape[1] == 25 * c3.shape[0]
    return (c1.shape[1:] == (1, 5, 5) and c3.shape[1:] == (c1.shape[0], 5, 5) and c5_in
            and f6.shape[1] == c5.shape[0] and out.shape[1] == f6.shape[0])


def parse_map(text: str | None) -> dict:
    """`c1=conv1,c3=conv2,...` -> {stage: prefix}; all five stages are required."""
    if not text:
        return {}
    mapping = {}
    for item in text.split(","):
        stage, _, prefix = item.strip().partition("=")
        stage, prefix = stage.strip().lower(), prefix.strip().removesuffix(".weight")
        if stage not in STAGES or not prefix or stage in mapping:
            raise UserError(f"--map {text!r}: give each of {','.join(STAGES)} once as stage=prefix, e.g. c1=conv1")
        mapping[stage] = prefix
    if set(mapping) != set(STAGES):
        raise UserError(f"--map names {', '.join(sorted(mapping))}: all of {', '.join(STAGES)} are needed")
    return mapping


def assign(layers: list, mapping: dict) -> list:
    """The five layers in stage order, by --map, by file order, or by the one order whose shapes chain."""
    if mapping:
        by_prefix = {prefix: layer for layer in layers for prefix in [layer[0]]}
        missing = [p for p in mapping.values() if p not in by_prefix]
        if missing:
            raise UserError(f"--map: no weight layer {missing[0]!r} in the state dict (has {', '.join(by_prefix)})")
        extra = sorted(set(by_prefix) - set(mapping.values()))
        if extra:
            raise UserError(f"layer {extra[0]!r} is not part of LeNet-5 (the family has exactly five weight layers)")
        chosen = [by_prefix[mapping[s]] for s in STAGES]
        if not _chains([layer[1] for layer in chosen]):
            shapes = ", ".join(f"{s}={tuple(l[1].shape)}" for s, l in zip(STAGES, chosen))
            raise UserError(f"--map: the shapes do not chain as LeNet-5 ({shapes})")
        return chosen
    if len(layers) != 5:
        raise UserError(f"the state dict has {len(layers)} weight layers ({', '.join(l[0] for l in layers)}); "
                        "LeNet-5 has five: C1, C3, C5, F6, OUTPUT")
    if _chains([layer[1] for layer in layers]):
        return layers
    orders = [order for order in itertools.permutations(layers) if _chains([layer[1] for layer in order])]
    if len(orders) == 1:
        return list(orders[0])
    shapes = ", ".join(f"{l[0]}={tuple(l[1].shape)}" for l in layers)
    if not orders:
        raise UserError(f"the weight shapes do not form a LeNet-5 ({shapes})")
    raise UserError(f"the layers can be read as LeNet-5 in {len(orders)} ways ({shapes}): name them with "
                    "--map c1=...,c3=...,c5=...,f6=...,output=...")


def _norm_after(prefix: str, prefixes: list, norms: dict, width: int) -> tuple | None:
    """The BatchNorm that directly follows layer `prefix` in the file, if any."""
    index = prefixes.index(prefix)
    following = prefixes[index + 1] if index + 1 < len(prefixes) else None
    if following in norms:
        scale, offset = norms.pop(following)
        if scale.size != width:
            raise UserError(f"BatchNorm {following!r} has {scale.size} channels after {prefix!r} with {width}")
        return following, scale, offset
    return None


def read_state_dict(path: Path, mapping_text: str | None = None, input_size: tuple = (28, 28)) -> Chain:
    tensors = load_state_dict(path)
    layers, norms = _group(tensors)
    chosen = assign(layers, parse_map(mapping_text))
    prefixes = list(dict.fromkeys(n.rsplit(".", 1)[0] if "." in n else "" for n in tensors))
    pad = (32 - input_size[0]) // 2
    ops, notes = [], []
    for stage, (prefix, weight, bias) in zip(STAGES, chosen):
        if stage == "c5" and weight.ndim == 2:
            ops.append(Flatten((0, 1, 2), (weight.shape[1] // 25, 5, 5), ""))
        layer = (Conv(weight, bias, pad if stage == "c1" else 0, prefix) if weight.ndim == 4
                 else Dense(weight, bias, prefix))
        ops.append(layer)
        norm = _norm_after(prefix, prefixes, norms, weight.shape[0])
        if norm:
            ops.append(Affine(norm[1], norm[2], norm[0]))
            notes.append(f"BatchNorm {norm[0]!r} folded into {prefix!r} (eps {BN_EPS})")
        if stage in ("c1", "c3"):
            ops += [Act("relu", ""), Pool("max", "")]
        elif stage != "output":
            ops.append(Act("relu", ""))
    if norms:
        raise UserError(f"BatchNorm {next(iter(norms))!r} does not directly follow a layer; it cannot be folded")
    return Chain(tuple(input_size), ops, origin="state_dict", notes=notes)
