"""How long `edgelenet export-c` takes, as a firmware build calls it on every build, and what it imports.

    .venv/bin/python -m benchmarks.export_speed [--arch modern] [--runs 5]

Quantizes the shipped checkpoint with `edgelenet quantize`'s defaults into a temporary folder, then runs the
installed command `.venv/bin/edgelenet export-c ARTIFACT --out DIR --json` --runs times as a separate
process (the wall time a build step sees: interpreter start, imports, rendering, the Cortex-M4 size
measurement, writing) and records the best and the median. It also records whether the export imported
torch (it must not: firmware builds should not pay for a deep-learning framework they never use).
"""

from __future__ import annotations

import argparse
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


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
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
        walls = [timed(EDGELENET + ["export-c", str(artifact), "--out", str(Path(tmp) / f"c{i}"), "--json"])
                 for i in range(args.runs)]
        torch_imported = imports_torch(artifact, Path(tmp) / "probe")
    figures = {"arch": args.arch, "runs": args.runs, "best_seconds": round(min(walls), 3),
               "median_seconds": round(statistics.median(walls), 3), "imports_torch": torch_imported}
    figures["headline"] = {"export-c wall time, best of runs (median), a firmware build's step":
                           f"{figures['best_seconds']} s ({figures['median_seconds']} s), torch imported: "
                           f"{'yes' if torch_imported else 'no'}"}
    print(figures)
    write_result("export_speed", figures)


if __name__ == "__main__":
    main()
