"""Property test of the loader and export-c together (benchmarks/fuzz_export.py has the mutations and a
longer campaign): any mutated artifact, checksum recomputed, is refused with one line, or exports C that
compiles under the strict flags and runs clean under ASan/UBSan, equal to the integer reference.

Bounded for CI by EDGELENET_FUZZ_EXPORT_EXAMPLES (default 16 per variant, derandomised), plus 3 legal
mutations per variant that always compile."""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from benchmarks.fuzz_export import Chooser, check, family_artifact, mutate
from edgelenet.artifact import artifact_bytes

EXAMPLES = int(os.environ.get("EDGELENET_FUZZ_EXPORT_EXAMPLES", "16"))


def _campaign(valid: bytes, examples: int, legal: bool, cc: str, tmp_path) -> Counter:
    outcomes, serial = Counter(), itertools.count()

    @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
              database=None)
    @given(st.data())
    def fuzz(data):
        choose = Chooser(lambda options: data.draw(st.sampled_from(options)),
                         lambda lo, hi: data.draw(st.integers(lo, hi)))
        mutant, what = mutate(valid, choose, legal)
        note(what)
        work = tmp_path / str(next(serial))
        work.mkdir()
        outcomes[check(mutant, work, cc)] += 1
    fuzz()
    return outcomes


@pytest.mark.parametrize("arch", ["modern", "classic"])
def test_mutated_artifacts_are_refused_or_export_clean_c(arch, modern_int8, classic_int8, host_cc, tmp_path):
    """Any mutation: mostly refused; whatever passes the loader must export clean C."""
    outcomes = _campaign(artifact_bytes(modern_int8 if arch == "modern" else classic_int8), EXAMPLES, False,
                         host_cc, tmp_path)
    print(f"\n{arch}: {dict(outcomes)}")
    assert sum(outcomes.values()) >= EXAMPLES


@pytest.mark.parametrize("arch", ["modern", "classic", "narrow", "wide", "plain-subsampling"])
def test_unusual_legal_models_export_and_run_exactly(arch, modern_int8, classic_int8, host_cc, tmp_path):
    """Integer tensors redrawn within the accepted ranges: each exports, compiles strict, runs clean under the
    sanitizers and equals the reference (3 compilations per variant, about a second each). `narrow`, `wide`
    and `plain-subsampling` are other family members (benchmarks/fuzz_export.py FAMILY)."""
    valid = {"modern": lambda: artifact_bytes(modern_int8), "classic": lambda: artifact_bytes(classic_int8)}.get(
        arch, lambda: family_artifact(arch))()
    outcomes = _campaign(valid, 3, True, host_cc, tmp_path)
    print(f"\n{arch}: {dict(outcomes)}")
    assert outcomes["exported"] >= 2, outcomes


def test_the_check_catches_an_engine_that_differs(modern_int8, host_cc, tmp_path, monkeypatch):
    """The property can fail: a reference that disagrees with the C engine by one logit step is caught."""
    from edgelenet import reference

    real = reference.run
    monkeypatch.setattr(reference, "run", lambda model, x: real(model, x) + 1)
    with pytest.raises(AssertionError, match="differs from the reference"):
        check(artifact_bytes(modern_int8), tmp_path, host_cc)
