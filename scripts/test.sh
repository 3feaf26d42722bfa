#!/usr/bin/env bash
# The test suite as CI runs it: set-up, then every test (unit, golden, end-to-end, compiled C, QEMU).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"` for the quick subset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
