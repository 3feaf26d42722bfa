"""How long `edgelenet export-c` takes, as a firmware build calls it on every build, and what it imports.

    .venv/bin/python -m benchmarks.export_speed [--arch modern] [--runs 5]

Quantizes the shipped checkpoint with `edgelenet quantize`'s defaults into a temporary folder, then runs
`python -m edgelenet export-c ARTIFACT --out DIR --json` as a separate process (the wall time a build step
sees: interpreter start, imports, rendering, the per-core memory measurement, writing). The first run
starts from an empty cache folder (EDGELENET_CACHE), so it cross-compiles the engine for every core; the
next --runs reuse that measurement, as a firmware build re-exporting an unchanged artifact does: their
best and median are recorded. It also records whether the export imported torch (it must not: firmware
builds should not pay for a deep-learning framework they never use).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_result

ROOT = Path(__file__).resolve().parent.parent
EDGELENET = [sys.executable, "-m", "edgelenet"]
PROBE = ("import sys, runpy; sys.argv = ['edgelenet', 'export-c', {artifact!r}, '--out', {out!r}, '--json'];\n"
         "try:\n    runpy.run_module('edgelenet', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         "print('torch' in sys.modules, file=sys.stderr)")


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - start


def imports_torch(artifact: Path, out: Path) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE.format(artifact=str(artifact), out=str(out))],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return done.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="modern")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / f"{args.arch}.int8"
        subprocess.run(EDGELENET + ["quantize", args.arch, "--out", str(artifact), "--json"], check=True,
                       capture_output=True, cwd=ROOT)
        env = dict(os.environ, EDGELENET_CACHE=str(Path(tmp) / "cache"))
        export = [EDGELENET + ["export-c", str(artifact), "--out", str(Path(tmp) / f"c{i}"), "--json"]
                  for i in range(args.runs + 1)]
        cold = timed(export[0], env)
        walls = [timed(command, env) for command in export[1:]]
        torch_imported = imports_torch(artifact, Path(tmp) / "probe")
    figures = {"arch": args.arch, "runs": args.runs, "cold_seconds": round(cold, 3),
               "best_seconds": round(min(walls), 3), "median_seconds": round(statistics.median(walls), 3),
               "imports_torch": torch_imported}
    figures["headline"] = {"export-c wall time: first run (cross-compiles for every core) / repeat, best (median)":
                           f"{figures['cold_seconds']} s / {figures['best_seconds']} s "
                           f"({figures['median_seconds']} s), torch imported: {'yes' if torch_imported else 'no'}"}
    print(figures)
    write_result("export_speed", figures)


if __name__ == "__main__":
    main()
