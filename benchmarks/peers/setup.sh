#!/usr/bin/env bash
# Create (or reuse) .venv-peers: the environment of the TensorFlow Lite peer benchmark.
# TensorFlow pins its own numpy, protobuf and ml-dtypes; keeping it out of .venv means those pins never
# reach edgelenet's environment. tflite-micro brings the TensorFlow Lite Micro interpreter as a Python
# extension (tflite_micro.runtime), i.e. the same C++ kernels and arena planner a microcontroller runs.
# Idempotent: a stamp of this file's checksum skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

PEERS_PACKAGES=(tensorflow-cpu tflite-micro)
PY=${PYTHON:-python3}
[ -x .venv-peers/bin/python ] || "$PY" -m venv .venv-peers
stamp=.venv-peers/.edgelenet-peers-setup
want="$(sha256sum benchmarks/peers/setup.sh | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "peers setup: installing ${PEERS_PACKAGES[*]} into .venv-peers" >&2
  .venv-peers/bin/python -m pip install -q --disable-pip-version-check "${PEERS_PACKAGES[@]}"
  echo "$want" > "$stamp"
fi
