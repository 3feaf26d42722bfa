#!/usr/bin/env bash
# The main job: set-up, then the whole pipeline on MNIST into out/ (extra arguments go to `edgelenet run`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/edgelenet run --out out "$@"
