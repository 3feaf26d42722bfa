"""libFuzzer on the exported C engine: no input can crash it, overrun a buffer, hit undefined behaviour,
return something other than the first maximum of its logits, or depend on the scratch's old contents.

The harness is tests/fuzz/fuzz_infer.c (what it checks is listed there), built against OUT/lenet5.c of
each shipped variant with clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all and the
strict warning flags. In CI each variant fuzzes for EDGELENET_C_FUZZ_SECONDS (default 20) or
EDGELENET_C_FUZZ_RUNS executions, whichever comes first. A longer campaign (one hour per variant):

    EDGELENET_C_FUZZ_SECONDS=3600 EDGELENET_C_FUZZ_RUNS=-1 \\
        .venv/bin/pytest tests/e2e/test_c_fuzz.py -p no:xdist -s -k fuzzing_finds

A crash leaves its input as crash-<sha1> in the test's tmp_path (printed); replay it with `./fuzz_infer FILE`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from firmware_export import build, export_c
from tests.toolcheck import missing_tool

pytestmark = pytest.mark.slow

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_infer.c"
SECONDS = int(os.environ.get("EDGELENET_C_FUZZ_SECONDS", "20"))
RUNS = int(os.environ.get("EDGELENET_C_FUZZ_RUNS", "1000000"))
# The engine runs ~400k MACs twice per execution under ASan + UBSan: ~150 executions/s on one free core
# (measured), far fewer when the two cores are busy. 200 in 20 s still proves the loop ran on its seeds and
# on mutations; a broken build or a harness that exits at once gives a handful.
MIN_EXECUTIONS = 200
MODE_INFER, MODE_PREPARE = b"\x00", b"\x01"  # first byte of a fuzz input: see fuzz_infer.c
FUZZ_FLAGS = ["-fsanitize=fuzzer", *build.SANITIZE, "-O2"]  # -O2 after SANITIZE's -O1: ~20% more executions


@pytest.fixture(scope="session")
def libfuzzer(tmp_path_factory) -> str:
    """clang, once it has shown it can link a libFuzzer target (the runtime ships separately on some systems)."""
    clang = shutil.which("clang")
    if clang is None:
        missing_tool("clang (libFuzzer needs it)", "clang")
    probe = tmp_path_factory.mktemp("probe") / "probe.c"
    probe.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                     "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
                     "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
    done = subprocess.run([clang, "-fsanitize=fuzzer,address,undefined", str(probe), "-o", str(probe.with_suffix(""))],
                          capture_output=True, text=True)
    if done.returncode != 0:
        missing_tool(f"clang's libFuzzer runtime ({done.stderr.strip()[-200:]})", "libclang-rt-14-dev")
    return clang


@pytest.fixture(scope="module")
def fuzz_target(libfuzzer, int8_model, tmp_path_factory) -> tuple[str, Path]:
    """(variant, the fuzzer executable) for the exported engine of one variant."""
    work = tmp_path_factory.mktemp(f"fuzz-{int8_model.arch}")
    export_c(int8_model, work / "out", measure_flash=False)
    exe = build.compile_host([HARNESS, work / "out" / "lenet5.c"], work / "fuzz_infer",
                             FUZZ_FLAGS + [f"-I{work / 'out'}"], libfuzzer)
    return int8_model.arch, exe


def seed_corpus(directory: Path, images: np.ndarray) -> Path:
    """Extreme inputs and real digits: the mutations start from every branch the engine has (saturations,
    ReLU clamps, each class), not only from zeros."""
    directory.mkdir()
    seeds = {"min": MODE_INFER + bytes([0x80]) * 1024, "max": MODE_INFER + bytes([0x7F]) * 1024,
             "checker": MODE_INFER + bytes([0x80, 0x7F] * 16 + [0x7F, 0x80] * 16) * 16,
             "blank": MODE_PREPARE + bytes(784), "white": MODE_PREPARE + bytes([255]) * 784}
    for i, image in enumerate(images):
        seeds[f"digit{i}"] = MODE_PREPARE + np.ascontiguousarray(image, np.uint8).tobytes()
    for name, data in seeds.items():
        (directory / name).write_bytes(data)
    return directory


def run_fuzzer(exe: Path, work: Path, corpus: Path | None, seconds: int,
               runs: int) -> tuple[subprocess.CompletedProcess, int]:
    """Run libFuzzer; (the process, executions counted by libFuzzer's final stats)."""
    cmd = [str(exe), f"-max_total_time={seconds}", f"-runs={runs}", "-max_len=1025", "-len_control=0",
           "-timeout=20", "-rss_limit_mb=2048", "-print_final_stats=1", f"-artifact_prefix={work}/"]
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1", ASAN_OPTIONS="detect_leaks=1")
    done = subprocess.run(cmd + ([str(corpus)] if corpus else []), capture_output=True, text=True, env=env,
                          timeout=seconds + 120)
    found = re.search(r"stat::number_of_executed_units:\s*(\d+)", done.stderr)
    return done, int(found.group(1)) if found else 0


def test_fuzzing_finds_no_input_that_breaks_the_engine(fuzz_target, mnist, record_property, tmp_path):
    arch, exe = fuzz_target
    corpus = seed_corpus(tmp_path / "corpus", mnist.test.images[:10])
    done, executions = run_fuzzer(exe, tmp_path, corpus, SECONDS, RUNS)
    seconds = re.search(r"Done \d+ runs in (\d+) second", done.stderr)
    print(f"\nlibFuzzer {arch}: {executions} executions in {seconds.group(1) if seconds else '?'} s")
    record_property("fuzz_executions", executions)  # in --junitxml reports, also under xdist
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-", "oom-")))
    assert done.returncode == 0 and not crashes, f"{crashes} in {tmp_path}\n{done.stderr[-4000:]}"
    assert executions >= MIN_EXECUTIONS, done.stderr[-2000:]


# A broken engine must make the harness fail: each mutant breaks one property (see conftest.mutant_engine).
RECOUNT = "int c; for (best = 0, c = 1; c < 10; ++c) { best = logits[c] > logits[best] ? c : best; }"
MUTANTS = {
    "overrun": ({"infer": "((uint8_t *)scratch)[LENET5_SCRATCH_BYTES] = 0;"}, "heap-buffer-overflow"),
    "wrong_class": ({"infer": "best = (best + 1) % 10;"}, "first maximum"),
    "reads_stale_scratch": ({"infer": "logits[9] = stale; " + RECOUNT}, "scratch's initial contents"),
    "bad_prepare": ({"prepare": "input[0] = 0;"}, "pixel - 128"),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_harness_catches_a_broken_engine(libfuzzer, modern_int8, mnist, mutant_engine, mutant, tmp_path):
    export_c(modern_int8, tmp_path / "out", measure_flash=False)
    parts, message = MUTANTS[mutant]
    source = mutant_engine(tmp_path / "mutant.c", **parts)
    exe = build.compile_host([HARNESS, source], tmp_path / "fuzz_mutant", FUZZ_FLAGS + [f"-I{tmp_path / 'out'}"],
                             libfuzzer)
    corpus = seed_corpus(tmp_path / "corpus", mnist.test.images[:2])
    done, _ = run_fuzzer(exe, tmp_path, corpus, seconds=30, runs=200)
    assert done.returncode != 0 and message in done.stderr, done.stderr[-3000:]
    assert any(p.name.startswith("crash-") for p in tmp_path.iterdir())
