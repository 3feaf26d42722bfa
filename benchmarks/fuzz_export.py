"""Fuzzing the artifact loader and export-c together, with the checksum recomputed as an attacker would.

    .venv/bin/python -m benchmarks.fuzz_export [--examples 400] [--seed 0]

Each example mutates one valid artifact, in turn: modern and classic quantized from the shipped
checkpoints, and three other family members (`FAMILY`: a narrow modern one with 3 classes, a wide classic
one with 12, a classic one whose S2/S4 have no activation): a metadata value, a layer entry, or a tensor (one element, all values, its shape, its dtype,
or the whole tensor); every third example redraws a layer's integer tensor within the accepted ranges instead (an
unusual model that must export and run exactly). Then it recomputes the SHA-256 the way edgelenet/artifact.py does. The outcome must be one of
- refused: `load_artifact` raises a one-line UserError (anything else is a failure), or
- exported: export-c writes the engine, which compiles with firmware_export/build.py's STRICT flags under
  ASan + UBSan (fatal), runs clean on extreme and random inputs, and gives the integer reference's logits
  bit for bit.
The same mutations drive the property test tests/e2e/test_fuzz_export.py (hypothesis, a few examples);
this script runs a longer campaign and records the counts with benchmarks/common.py.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
INFER = ROOT / "tests" / "e2e" / "c" / "infer_stdin.c"
VALUES = [0, 1, -1, 2, 5, 127, 128, -128, -129, 255, 256, (1 << 31) - 1, 1 << 31, 1 << 70, -(1 << 63), 0.0, -0.0,
          1e-45, 1e-300, 1e300, 0.5, -0.5, 0.005, "", "C1", "OUTPUT", "modern", "classic", "tanh", "relu", "max",
          "none", "conv", "linear", 'x\n#define X 1\n', None, True, False, [], {}, [1, 32, 32], [6, 14, 14], [400]]
DTYPES = [np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32, np.float64]
INT_RANGES = {"weights": (-127, 127), "bias": (-(1 << 16), 1 << 16), "multiplier": (0, (1 << 31) - 1),
              "shift": (1, 62), "lut": (-128, 127), "connections": (0, 1)}


@dataclass
class Chooser:
    """Where the randomness comes from: hypothesis draws (the test) or a numpy generator (the campaign)."""
    pick: Callable[[list], object]
    integer: Callable[[int, int], int]


def numpy_chooser(rng: np.random.Generator) -> Chooser:
    return Chooser(lambda options: options[int(rng.integers(len(options)))], lambda lo, hi: int(rng.integers(lo, hi + 1)))


def _leaves(value, path=()) -> list[tuple]:
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key], path + (key,))] or [path]
    if isinstance(value, list) and value and isinstance(value[0], (dict, list)):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, path + (i,))]
    return [path]


def _neighbours(value) -> list:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    return [value + 1, value - 1, value * 2, -value, value / 2 if isinstance(value, float) else value // 2]


def mutate_metadata(body: dict, choose: Chooser) -> str:
    """One leaf of the metadata (not the checksum, not the free-form report) set to a hostile value."""
    paths = [p for p in _leaves(body) if p and p[0] not in ("sha256", "report", "calibration")]
    path = choose.pick(paths)
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = choose.pick(VALUES + _neighbours(parent[path[-1]]))
    return "metadata " + ".".join(map(str, path))


def mutate_layers(body: dict, choose: Chooser) -> str:
    layers, index = body["layers"], choose.integer(0, len(body["layers"]) - 1)
    if choose.pick([True, False]):
        del layers[index]
        return "layer removed"
    layers.insert(index, dict(layers[index]))
    return "layer duplicated"


def mutate_tensor(tensors: dict, choose: Chooser, legal: bool = False) -> str:
    """One tensor changed; legal=True: a layer's integer tensor redrawn within the ranges the schema accepts
    (an unusual model that must export and run exactly)."""
    names = sorted(n for n in tensors if not legal or n.split(".")[-1] in INT_RANGES)
    name = choose.pick(names)
    array = tensors[name]
    kind = "bounded" if legal else choose.pick(["element", "element", "bounded", "bounded", "random", "shape",
                                                "dtype", "delete"])
    rng = np.random.default_rng(choose.integer(0, 2**32 - 1))
    flat = array.reshape(-1).copy()
    if kind == "delete":
        del tensors[name]
    elif kind == "shape":
        tensors[name] = flat[:choose.integer(0, max(len(flat) - 1, 0))]
    elif kind == "dtype":
        tensors[name] = array.astype(choose.pick([d for d in DTYPES if d != array.dtype]))
    elif kind == "element" and flat.size:
        if array.dtype.kind == "f":
            value = choose.pick([math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-40, 1e38, float(flat[0]) * 1.5])
        else:
            info = np.iinfo(array.dtype)
            value = choose.pick([info.min, info.max, 0, 1, -1 if info.min < 0 else 2, int(flat[0]) + 1])
        flat[choose.integer(0, flat.size - 1)] = value
        tensors[name] = flat.reshape(array.shape)
    elif kind in ("bounded", "random") and flat.size:
        lo, hi = INT_RANGES.get(name.split(".")[-1], (-100, 100))
        if array.dtype.kind == "f":
            values = rng.normal(0, 0.1, flat.size) if kind == "random" else np.abs(rng.normal(0.01, 0.005, flat.size))
        elif kind == "random":
            info = np.iinfo(array.dtype)
            values = rng.integers(info.min, info.max, flat.size, endpoint=True)
        else:   # values the schema accepts: unusual models the C engine must still run exactly
            values = rng.integers(lo, hi, flat.size, endpoint=True)
        tensors[name] = values.astype(array.dtype).reshape(array.shape)
    return f"tensor {kind} {name.split('.')[-1]}"


def mutate(raw: bytes, choose: Chooser, legal: bool = False) -> tuple[bytes, str]:
    """A mutated artifact (checksum recomputed) and a short description of the mutation (legal: see
    mutate_tensor)."""
    from edgelenet.artifact import _digest

    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from crafted import pack, parts   # tests/crafted.py: the safetensors writer of the crafted corpus

    body, tensors = parts(raw)
    where = "tensor" if legal else choose.pick(["metadata", "metadata", "layers", "tensor", "tensor", "tensor"])
    what = (mutate_metadata(body, choose) if where == "metadata" else mutate_layers(body, choose)
            if where == "layers" else mutate_tensor(tensors, choose, legal))
    return pack(body, tensors, _digest), what


def inputs(count: int = 6, seed: int = 0) -> np.ndarray:
    """int8 (N, 32, 32) engine inputs: both extremes, then random extremes and random values."""
    rng = np.random.default_rng(seed)
    extremes = np.where(rng.random((count - 4, 32, 32)) < 0.5, -128, 127)
    return np.concatenate([np.full((1, 32, 32), -128), np.full((1, 32, 32), 127), extremes,
                           rng.integers(-128, 128, (2, 32, 32))]).astype(np.int8)


def check(data: bytes, work: Path, cc: str) -> str:
    """'refused' or 'exported' (compiled, sanitizer-clean, equal to the reference); AssertionError otherwise."""
    from edgelenet import reference
    from edgelenet.artifact import load_artifact
    from edgelenet.errors import UserError
    from firmware_export import build, export_c

    path = work / "mutant.safetensors"
    path.write_bytes(data)
    try:
        model = load_artifact(path)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc), repr(exc)
        return "refused"
    try:
        export_c(model, work / "c", measure_flash=False)
    except UserError as exc:   # the exporter's own refusals (e.g. an accumulator it cannot prove) are clean too
        assert "\n" not in str(exc)
        return "refused by export-c"
    exe = build.compile_host([INFER, work / "c" / "lenet5.c"], work / "infer", build.SANITIZE + [f"-I{work / 'c'}"], cc)
    x = inputs()
    done = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[-3000:]
    logits = np.frombuffer(done.stdout, np.int8).reshape(-1, model.num_classes + 1)[:, 1:]
    expected = reference.run(model, x[:, None])
    assert np.array_equal(logits, expected), "the C engine differs from the reference"
    return "exported"


FAMILY = {"narrow": ("modern", (3, 5, 24, 12), tuple("abc"), "squash"),
          "wide": ("classic", (8, 20, 150, 100), tuple("abcdefghijkl"), "squash"),
          "plain-subsampling": ("classic", (6, 16, 120, 84), tuple("0123456789"), "none")}


def family_artifact(name: str) -> bytes:
    """A family member other than the paper's widths (seeded random weights, random calibration images):
    fuzzing needs a valid artifact of those shapes, not a trained one."""
    import torch

    from edgelenet.artifact import artifact_bytes
    from edgelenet.family import DataInfo
    from edgelenet.model import build_model
    from edgelenet.quantize import quantize_model

    arch, widths, classes, pool_activation = FAMILY[name]
    torch.manual_seed(0)
    model = build_model(arch, "softmax", widths, len(classes),
                        DataInfo(classes=classes, dataset={"name": f"fuzz-{name}", "fingerprint": "0" * 64}),
                        pool_activation)
    images = np.random.default_rng(0).integers(0, 256, (100, 28, 28)).astype(np.uint8)
    return artifact_bytes(quantize_model(model, images, "minmax")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from benchmarks.common import write_result
    from calibration.selection import select_calibration_set
    from edgelenet.artifact import artifact_bytes
    from edgelenet.checkpoint import load_checkpoint
    from edgelenet.data import load_mnist
    from edgelenet.quantize import quantize_model
    from firmware_export import build

    train = load_mnist().train
    bases = {arch: artifact_bytes(quantize_model(load_checkpoint(arch)[0], select_calibration_set(train, 300, 0),
                                                 "mse")[0]) for arch in ("modern", "classic")}
    bases.update({name: family_artifact(name) for name in FAMILY})
    names = sorted(bases)
    rng, outcomes, kinds, failures = np.random.default_rng(args.seed), Counter(), Counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.examples):
            arch = names[index % len(names)]
            data, what = mutate(bases[arch], numpy_chooser(rng), legal=index % 3 == 2)  # 1 in 3 legal
            work = Path(tmp) / str(index)
            work.mkdir()
            try:
                outcome = check(data, work, build.host_cc())
            except Exception as exc:   # noqa: BLE001 - every other outcome is a finding, recorded
                outcome = "FAILED"
                failures.append({"example": index, "arch": arch, "mutation": what, "error": repr(exc)[:500]})
            outcomes[outcome] += 1
            kinds[f"{what.split()[0]} {what.split()[1]}" if what.startswith("tensor") else what.split()[0]] += 1
            print(f"{index:5} {arch:8} {outcome:20} {what}", flush=True)
    write_result("fuzz_export", {"examples": args.examples, "seed": args.seed, "bases": {
        name: [*FAMILY[name][:2], len(FAMILY[name][2]), FAMILY[name][3]] if name in FAMILY
        else [name, [6, 16, 120, 84], 10, "squash"]
        for name in names}, "outcomes": dict(outcomes),
                                 "mutations": dict(sorted(kinds.items())), "failures": failures})


if __name__ == "__main__":
    main()
