"""The application API of <prefix>.h: the output scale and zero point, the integer-only confidence (checked
against the float softmax within the bound derived below), the model and generator ids."""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest

import edgelenet
from edgelenet import reference
from firmware_export import build, export_c

ONE = 32768  # Q15


@pytest.fixture(scope="module")
def engine(modern_int8, tmp_path_factory):
    """(model, OUT, a compiler-built library of OUT/lenet5.c); `build_lib(source)` builds another."""
    out = tmp_path_factory.mktemp("api") / "out"
    export_c(modern_int8, out, measure_flash=False)
    return modern_int8, out


def _library(source, out, tmp_path):
    lib = build.compile_host([source], tmp_path / f"{source.stem}.so", build.HOST_OPT + [f"-I{out}"], shared=True)
    library = ctypes.CDLL(str(lib))
    library.lenet5_confidence.argtypes = [ctypes.c_void_p]
    library.lenet5_confidence.restype = ctypes.c_int32
    return library


def _confidences(library, logits: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(logits, np.int8)
    return np.array([library.lenet5_confidence(row.ctypes.data) for row in rows])


def _float_confidence(logits: np.ndarray, scale: float) -> np.ndarray:
    """Softmax probability of the first maximum over the real logits (the zero point cancels)."""
    real = scale * logits.astype(np.float64)
    real -= real.max(axis=1, keepdims=True)
    return 1.0 / np.exp(real).sum(axis=1)


def _logit_cases(model, mnist, rng) -> np.ndarray:
    """Real logits of test digits and of a blank image, random int8 vectors, near-ties, all equal, extremes."""
    digits = reference.predict(model, mnist.test.images[:300])[1]
    random = rng.integers(-128, 128, size=(2000, 10))
    near = np.clip(rng.integers(-3, 4, size=(500, 10)) + rng.integers(-120, 120, size=(500, 1)), -128, 127)
    special = np.array([[0] * 10, [127] + [-128] * 9, [-128] * 9 + [127], [5, 5] + [-128] * 8])
    return np.concatenate([digits, random, near, special]).astype(np.int8)


def header_macros(out) -> dict[str, str]:
    text = (out / "lenet5.h").read_text()
    return dict(re.findall(r"#define (LENET5_\w+)\s+(\S+)", text))


def test_output_scale_zero_point_and_ids(engine):
    model, out = engine
    macros = header_macros(out)
    mult, shift = int(macros["LENET5_OUTPUT_SCALE_MULT"]), int(macros["LENET5_OUTPUT_SCALE_SHIFT"])
    assert 1 << 30 <= mult < 1 << 31
    assert abs(mult / 2 ** shift - model.logits.scale) <= model.logits.scale * 2 ** -30
    assert int(macros["LENET5_OUTPUT_ZERO_POINT"].strip("()")) == model.logits.zero_point
    assert macros["LENET5_MODEL_ID"] == f'"{model.checksum[:16]}"'
    assert macros["LENET5_MODEL_ID_U32"] == f"0x{model.checksum[:8]}u"
    assert macros["LENET5_GENERATOR_VERSION"] == f'"{edgelenet.__version__}"'


def test_confidence_matches_float_softmax_within_bound(host_cc, engine, mnist, rng, tmp_path):
    """Bound: every table entry is within 0.5 of 32768 exp(-scale d) (the top one, 32768, exactly), so the
    sum S is within (N-1)/2 of the exact S*, both >= 32768; p = round(2^30 / S) is then within
    1/2 + 2^30 (N-1)/2 / (S S*) <= N/2 Q15 steps of 2^30 / S*. An entry 0.15% off exceeds it."""
    model, out = engine
    cases = _logit_cases(model, mnist, rng)
    exact = _float_confidence(cases, model.logits.scale) * ONE
    bound = cases.shape[1] / 2
    error = np.abs(_confidences(_library(out / "lenet5.c", out, tmp_path), cases) - exact)
    assert error.max() <= bound, error.max()
    assert error.max() > 0.1  # the comparison is not vacuous
    mutant = (out / "lenet5.c").read_text()
    table = re.search(r"lenet5_softmax_exp\[\d+\] = \{\s*32768, (\d+),", mutant)
    mutant = mutant.replace(table.group(0), table.group(0).replace(f" {table.group(1)},", f" {int(table.group(1)) + 40},"))
    (tmp_path / "mutant.c").write_text(mutant)
    wrong = np.abs(_confidences(_library(tmp_path / "mutant.c", out, tmp_path), cases) - exact)
    assert wrong.max() > bound


def test_confidence_rejects_a_blank_image(host_cc, engine, mnist, tmp_path):
    """A blank image is classified (as some digit) with a confidence below 99% of real test digits'."""
    model, out = engine
    library = _library(out / "lenet5.c", out, tmp_path)
    digits = _confidences(library, reference.predict(model, mnist.test.images[:1000])[1])
    blank = _confidences(library, reference.predict(model, np.zeros((1, 28, 28), np.uint8))[1])[0]
    assert blank < ONE // 2 and np.mean(digits > blank) >= 0.99
    assert library.lenet5_confidence(None) == -1
