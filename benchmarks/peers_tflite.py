"""Peer: TensorFlow Lite converter + TensorFlow Lite Micro on the same LeNet-5 `modern` and test set.

    .venv/bin/python -m benchmarks.peers_tflite [--limit N]

TensorFlow lives in its own environment, .venv-peers, so its pins never touch .venv: this script runs
benchmarks/peers/setup.sh (creates or reuses it), writes the shipped checkpoint's float weights, the official
test images, the float predictions and the 1000 calibration images (select_calibration_set, seed 0, as
`edgelenet quantize` uses) to a temporary .npz, runs benchmarks/peers/tflite_lenet.py there, and records what
it measured: int8 accuracy and agreement with float in the TFLM interpreter, .tflite size, TFLM arena bytes.
`--limit` runs TFLM on the first N test images only (the default runs all 10,000).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import write_result
from calibration.selection import select_calibration_set
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.model import logits_numpy

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "benchmarks" / "peers" / "setup.sh"
SCRIPT = ROOT / "benchmarks" / "peers" / "tflite_lenet.py"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
CHECK_IMAGES = 16   # test images whose float logits Keras must reproduce


def prepare_inputs(path: Path, calib_size: int) -> None:
    data = load_mnist()
    model, _ = load_checkpoint("modern")
    weights = {f"{name.upper()}.{kind}": getattr(getattr(model, name), kind).detach().numpy()
               for name in ("c1", "c3", "c5", "f6", "output") for kind in ("weight", "bias")}
    float_logits = logits_numpy(model, data.test.images)
    np.savez(path, **weights, test_images=data.test.images, test_labels=data.test.labels,
             float_pred=float_logits.argmax(1), float_logits_check=float_logits[:CHECK_IMAGES],
             calib_images=select_calibration_set(data.train, calib_size, seed=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="TFLM on the first N test images only")
    parser.add_argument("--calib-size", type=int, default=1000)
    args = parser.parse_args()
    subprocess.run(["bash", str(SETUP)], check=True, stdout=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="peers_tflite_") as tmp:
        inputs = Path(tmp) / "inputs.npz"
        prepare_inputs(inputs, args.calib_size)
        command = [str(PEERS_PYTHON), str(SCRIPT), str(inputs), tmp]
        if args.limit is not None:
            command += ["--limit", str(args.limit)]
        subprocess.run(command, check=True, stdout=sys.stderr)
        measured = json.loads((Path(tmp) / "result.json").read_text())
    write_result("peers_tflite", measured)


if __name__ == "__main__":
    main()
