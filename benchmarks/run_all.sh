#!/usr/bin/env bash
# Run every benchmark, one after the other (two at once would share the 2 cores and distort the timings),
# then assemble BENCHMARKS.md, benchmarks/plots/ and the README headline from benchmarks/results/*.json.
# Every script benchmarks/<name>.py except the report's own modules is a benchmark, so new ones join by
# being added. Run from anywhere; it works in the repository root with .venv set up by scripts/setup.sh.
#
# Expected time on the 2-core development machine: training about 15-20 minutes (6 trainings of at most
# 180 s each: 3 seeds x 2 variants), accuracy about 5 minutes, peers_ort under 30 s, peers_tflite under a
# minute (plus about 1-2 minutes the first time, while benchmarks/peers/setup.sh installs TensorFlow into
# .venv-peers), report a few seconds; the firmware benchmarks (mcu, host_speed) add their own time, given
# in their docstrings. In all about 25 minutes plus the firmware benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

for script in benchmarks/*.py; do
  name="$(basename "$script" .py)"
  case "$name" in
    __init__|common|report|report_*) continue ;;
  esac
  echo "run_all: $name" >&2
  start=$SECONDS
  .venv/bin/python -m "benchmarks.$name"
  echo "run_all: $name took $((SECONDS - start)) s" >&2
done
.venv/bin/python -m benchmarks.report
