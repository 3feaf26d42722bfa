"""Training: test accuracy, wall time and images/s of the default `train` recipe, over several seeds.

Run alone (two trainings at once oversubscribe the cores):
    .venv/bin/python -m benchmarks.training [--seeds 0 1 2] [--archs modern classic]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console

from benchmarks.common import write_result
from edgelenet.data import load_mnist
from edgelenet.train import TrainConfig, accuracy, train

TARGETS = {"modern": 0.992, "classic": 0.990}
TIME_LIMIT_S = 180


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--archs", nargs="+", default=["modern", "classic"])
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    args = parser.parse_args()
    data = load_mnist()
    console = Console(stderr=True, quiet=True)
    runs = []
    for arch in args.archs:
        for seed in args.seeds:
            cfg = TrainConfig(arch=arch, seed=seed, epochs=args.epochs)
            started = time.perf_counter()
            result = train(cfg, data, console)
            wall = time.perf_counter() - started
            test = accuracy(result.model, data.test)
            ips = statistics.mean(r.images_per_second for r in result.history)
            runs.append({"arch": arch, "seed": seed, "epochs": cfg.epochs, "test_accuracy": test,
                         "wall_seconds": round(wall, 1), "images_per_second": round(ips)})
            print(f"{arch} seed {seed}: test {test:.4f}  {wall:.0f} s  {ips:.0f} img/s", flush=True)
    summary = {}
    for arch in args.archs:
        mine = [r for r in runs if r["arch"] == arch]
        accs = [r["test_accuracy"] for r in mine]
        summary[arch] = {"target": TARGETS[arch], "mean_accuracy": statistics.mean(accs), "min_accuracy": min(accs),
                         "max_accuracy": max(accs), "all_meet_target": all(a >= TARGETS[arch] for a in accs),
                         "max_wall_seconds": max(r["wall_seconds"] for r in mine), "time_limit_seconds": TIME_LIMIT_S,
                         "mean_images_per_second": round(statistics.mean(r["images_per_second"] for r in mine))}
    write_result("training", {"recipe": {k: v for k, v in vars(TrainConfig()).items() if k not in ("arch", "seed")},
                              "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
