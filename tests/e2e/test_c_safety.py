"""The compiled engine on hostile ground: adversarial inputs under UBSan (no int32 overflow, bit-exact with the
reference), NULL arguments (a negative return, no crash), and two threads at once (reentrant: no writable
globals, all state in the caller's scratch). Each check is also run on a broken engine to show it can fail.
The arithmetic proof of the accumulator bound is tests/unit/test_accumulator_bounds.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelenet import reference
from firmware_export import build, export_c

pytestmark = pytest.mark.slow

C_DIR = Path(__file__).resolve().parent / "c"
THREADS, ITERATIONS = 2, 1000  # inferences per thread; ~1 ms each under TSan


@pytest.fixture(scope="module")
def exported(int8_model, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp(f"safety-{int8_model.arch}") / "out"
    export_c(int8_model, out, measure_flash=False)
    return int8_model, out


def sanitize_flags(cc: str) -> list[str]:
    """build.SANITIZE (ASan + all of UBSan, signed overflow and shifts included, fatal), plus with clang the
    implicit-conversion checks: a value changed by an implicit narrowing is a wrong result even where C
    defines it. Unsigned wrap-around is not checked: it is defined, and hashes may use it on purpose."""
    extra = ["-fsanitize=implicit-conversion"] if "clang" in Path(cc).name else []
    return [*build.SANITIZE, *extra]


def adversarial_inputs(model) -> np.ndarray:
    """int8 (N, 32, 32): constant extremes, checkerboards, and per C1 map the input that drives its
    accumulator to its maximum (x = 127 where the weight is positive, -128 where negative) and minimum,
    tiled with the kernel's period; plus random extremes."""
    inputs = [np.full((32, 32), v) for v in (-128, 127, 0)]
    yy, xx = np.mgrid[:32, :32]
    for cell in (1, 2, 5):
        board = ((yy // cell + xx // cell) % 2).astype(bool)
        inputs += [np.where(board, 127, -128), np.where(board, -128, 127)]
    for kernel in model.layer("C1").weights[:, 0].astype(np.int16):   # (5, 5) per map
        for sign in (1, -1):
            inputs.append(np.tile(np.where(sign * kernel > 0, 127, -128), (7, 7))[:32, :32])
    rng = np.random.default_rng(7)
    inputs += list(np.where(rng.random((8, 32, 32)) < 0.5, -128, 127))
    return np.array(inputs).astype(np.int8)


def run_engine(exe: Path, x: np.ndarray) -> tuple[subprocess.CompletedProcess, np.ndarray, np.ndarray]:
    """(process, classes, logits) of infer_stdin.c on int8 inputs (N, 32, 32)."""
    done = subprocess.run([str(exe)], input=np.ascontiguousarray(x, np.int8).tobytes(), capture_output=True,
                          timeout=120)
    records = np.frombuffer(done.stdout, np.int8).reshape(-1, 11)
    return done, records[:, 0].astype(int), records[:, 1:]


def test_adversarial_inputs_under_ubsan_match_the_reference(host_cc, exported, tmp_path):
    model, out = exported
    cc = shutil.which("clang") or host_cc
    exe = build.compile_host([C_DIR / "infer_stdin.c", out / "lenet5.c"], tmp_path / "infer",
                             sanitize_flags(cc) + [f"-I{out}"], cc)
    x = adversarial_inputs(model)
    done, classes, logits = run_engine(exe, x)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()[-3000:]
    expected = reference.run(model, x[:, None])
    np.testing.assert_array_equal(logits, expected)
    np.testing.assert_array_equal(classes, expected.argmax(axis=1))   # numpy's argmax: the first maximum


def test_ubsan_reports_an_overflowing_engine(host_cc, modern_int8, mutant_engine, tmp_path):
    """The sanitizer run above fails on a signed overflow: here one forced into the wrapper."""
    export_c(modern_int8, tmp_path / "out", measure_flash=False)
    overflow = "volatile int32_t big = INT32_MAX; best += (int)(big + 1 - big);"
    source = mutant_engine(tmp_path / "mutant.c", infer=overflow)
    cc = shutil.which("clang") or host_cc
    exe = build.compile_host([C_DIR / "infer_stdin.c", source], tmp_path / "infer",
                             sanitize_flags(cc) + [f"-I{tmp_path / 'out'}"], cc)
    done, _, _ = run_engine(exe, np.zeros((1, 32, 32), np.int8))
    assert done.returncode != 0 and b"overflow" in done.stderr, done.stderr.decode()[-2000:]


def _null_program(cc: str, engine: Path, out: Path, target: Path) -> subprocess.CompletedProcess:
    exe = build.compile_host([C_DIR / "null_args.c", engine], target, build.SANITIZE + [f"-I{out}"], cc)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)


def test_null_arguments_return_negative_without_crashing(host_cc, exported, tmp_path):
    """lenet5_infer with a NULL input, logits or scratch (and all three): negative, logits untouched, no ASan
    report. lenet5_prepare_input returns void and lenet5.h gives it no NULL contract, so it is not called
    with NULL (that would be the caller's undefined behaviour, not a contract to test)."""
    _, out = exported
    done = _null_program(host_cc, out / "lenet5.c", out, tmp_path / "null_args")
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr[-3000:]
    results = dict(line.split() for line in done.stdout.splitlines())
    assert sorted(results) == ["all_null", "null_input", "null_logits", "null_scratch", "valid"]
    assert all(int(v) < 0 for k, v in results.items() if k != "valid") and 0 <= int(results["valid"]) <= 9


def test_null_check_catches_an_engine_that_dereferences(host_cc, modern_int8, mutant_engine, tmp_path):
    export_c(modern_int8, tmp_path / "out", measure_flash=False)
    source = mutant_engine(tmp_path / "mutant.c", before="logits[0] = 0;")   # writes before checking
    done = _null_program(host_cc, source, tmp_path / "out", tmp_path / "null_args")
    # UBSan (null store) or ASan (SEGV), whichever sees it first
    assert done.returncode != 0 and re.search("null pointer|AddressSanitizer", done.stderr), done.stderr[-2000:]


@pytest.fixture(scope="session")
def thread_sanitizer(host_cc, tmp_path_factory) -> tuple[str, list[str]]:
    """(cc, flags): -fsanitize=thread when it builds and runs here (it needs kernel support), else ASan."""
    probe = tmp_path_factory.mktemp("tsan") / "probe.c"
    probe.write_text("#include <pthread.h>\nstatic void *f(void *a) { return a; }\n"
                     "int main(void) { pthread_t t; return pthread_create(&t, 0, f, 0) || pthread_join(t, 0); }\n")
    for cc in filter(None, [shutil.which("clang"), host_cc]):
        flags = ["-O1", "-g", "-fsanitize=thread", "-pthread"]
        built = subprocess.run([cc, *flags, str(probe), "-o", str(probe.with_suffix(""))], capture_output=True)
        if built.returncode == 0 and subprocess.run([str(probe.with_suffix(""))], capture_output=True).returncode == 0:
            return cc, flags
    return host_cc, [*build.SANITIZE, "-pthread"]


def _threads_program(sanitizer, engine: Path, out: Path, target: Path, x: np.ndarray,
                     iterations: int = ITERATIONS) -> subprocess.CompletedProcess:
    cc, flags = sanitizer
    defines = [f"-DELN_THREADS={THREADS}", f"-DELN_ITERATIONS={iterations}"]
    exe = build.compile_host([C_DIR / "threads.c", engine], target, flags + defines + [f"-I{out}"], cc)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1")  # the first race is enough
    return subprocess.run([str(exe)], input=np.ascontiguousarray(x, np.int8).tobytes(), capture_output=True,
                          timeout=300, env=env)


def test_two_threads_get_the_single_threaded_results(thread_sanitizer, exported, mnist, tmp_path):
    model, out = exported
    x = np.concatenate([reference.prepare_input(mnist.test.images[:8])[:, 0], adversarial_inputs(model)[:8]])
    done = _threads_program(thread_sanitizer, out / "lenet5.c", out, tmp_path / "threads", x)
    print(f"\n{model.arch}: {done.stdout.decode().strip()} inferences in {THREADS} threads, "
          f"{thread_sanitizer[1][2]}")
    assert done.returncode == 0 and done.stderr == b"", done.stdout + done.stderr[-3000:]
    assert done.stdout.decode().split() == ["ok", str(THREADS * ITERATIONS)]


def test_threads_check_catches_a_shared_buffer(thread_sanitizer, modern_int8, mnist, mutant_engine, tmp_path):
    """An engine keeping its state in a global (what 'no writable globals' forbids) fails the check above."""
    export_c(modern_int8, tmp_path / "out", measure_flash=False)
    source = mutant_engine(tmp_path / "mutant.c", before="static uint32_t shared[(LENET5_SCRATCH_BYTES + 3) / 4];"
                                                         " if (scratch != NULL) { scratch = shared; }")
    x = reference.prepare_input(mnist.test.images[:16])[:, 0]
    done = _threads_program(thread_sanitizer, source, tmp_path / "out", tmp_path / "threads", x, iterations=200)
    assert done.returncode != 0 and (b"data race" in done.stderr or b"mismatches" in done.stdout), done.stderr[-2000:]
