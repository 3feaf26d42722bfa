"""Property-based fuzzing of every reader: any bytes give a result or a UserError, never another exception.

Bounded for CI by EDGELENET_FUZZ_EXAMPLES (default 120 per reader); for a longer campaign:
    EDGELENET_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/unit/test_fuzz_readers.py -p no:xdist
"""

import io
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from edgelenet import data
from edgelenet.artifact import artifact_bytes, load_artifact
from edgelenet.checkpoint import checkpoint_bytes, load_checkpoint
from edgelenet.errors import UserError
from edgelenet.model import build_model

EXAMPLES = int(os.environ.get("EDGELENET_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, byte flips, insertions and splices of a valid file, plus arbitrary bytes."""
    n = len(valid)
    truncate = st.integers(0, n - 1).map(lambda k: valid[:k])
    flips = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), min_size=1, max_size=8).map(
        lambda edits: _apply(valid, edits))
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=64)).map(
        lambda e: valid[:e[0]] + e[1] + valid[e[0]:])
    return st.one_of(truncate, flips, insert, st.binary(max_size=512))


def _apply(valid: bytes, edits) -> bytes:
    raw = bytearray(valid)
    for index, value in edits:
        raw[index] = value
    return bytes(raw)


def read_via_file(raw: bytes, suffix: str, reader):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(raw)
        try:
            return reader(path)
        except UserError as exc:
            assert str(exc) and "\n" not in str(exc)  # one clear line
            return None


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(784, dtype=np.uint8).reshape(28, 28)).save(buffer, format="PNG")
    return buffer.getvalue()


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 28, 28), np.uint8))
    return buffer.getvalue()


IDX_VALID = struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 28, 28) + bytes(2 * 784)


@FUZZ
@given(mutations(IDX_VALID))
def test_idx_reader(raw):
    result = read_via_file(raw, ".idx", data.read_idx)
    assert result is None or isinstance(result, np.ndarray)


@FUZZ
@given(mutations(_png_bytes()))
def test_png_reader(raw):
    result = read_via_file(raw, ".png", lambda p: data.load_images([p]))
    assert result is None or result.shape[1:] == (28, 28)


@FUZZ
@given(mutations(_npy_bytes()))
def test_npy_reader(raw):
    result = read_via_file(raw, ".npy", lambda p: data.load_images([p]))
    assert result is None or (result.dtype == np.uint8 and result.shape[1:] == (28, 28))


@FUZZ
@given(mutations(checkpoint_bytes(build_model("classic"))))
def test_checkpoint_reader(raw):
    read_via_file(raw, ".safetensors", load_checkpoint)


@pytest.fixture(scope="module")
def valid_artifact(modern_int8) -> bytes:
    return artifact_bytes(modern_int8)


def test_artifact_reader(valid_artifact):
    @FUZZ
    @given(mutations(valid_artifact))
    def fuzz(raw):
        model = read_via_file(raw, ".safetensors", load_artifact)
        assert model is None or raw == valid_artifact or model.checksum
    fuzz()


def test_png_folder_reader(tmp_path):
    """Calibration folders: empty folders, non-PNG files posing as PNG."""
    (tmp_path / "3").mkdir()
    with pytest.raises(UserError, match="no images"):
        data.load_png_folder(tmp_path)
    (tmp_path / "3" / "a.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="not a readable image"):
        data.load_png_folder(tmp_path)
    (tmp_path / "3" / "a.png").unlink()
