"""No reader may execute code from a file: scan the sources for the calls that could."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("edgelenet", "calibration", "firmware_export", "benchmarks") for p in (ROOT / folder).rglob("*.py")]

FORBIDDEN = [
    (re.compile(r"\bpickle\.loads?\("), "plain pickle.load"),
    (re.compile(r"(?<!_NumpyOnly)Unpickler\("), "an Unpickler other than the numpy-only one"),
    (re.compile(r"allow_pickle\s*=\s*True"), "np.load with allow_pickle=True"),
    (re.compile(r"(?<![.\w])(eval|exec)\("), "builtin eval/exec"),  # not model.eval()
]


def test_sources_were_found():
    assert len(SOURCES) > 10


def test_no_unsafe_deserialisation_calls():
    offenders = []
    for path in SOURCES:
        text = path.read_text()
        for pattern, what in FORBIDDEN:
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}: {what}")
        for match in re.finditer(r"\btorch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in match.group(1):
                offenders.append(f"{path.relative_to(ROOT)}: torch.load without weights_only=True")
    assert offenders == []


def test_the_only_unpickler_is_the_numpy_only_one():
    text = (ROOT / "edgelenet" / "data.py").read_text()
    assert "class _NumpyOnlyUnpickler(pickle.Unpickler)" in text and "def find_class" in text


def test_the_scan_flags_each_unsafe_call():
    """Each pattern catches what it is for (so an empty offender list means something), and spares the
    numpy-only unpickler and model.eval()."""
    bad = ["pickle.load(f)", "pickle.loads(b)", "pickle.Unpickler(f)", "Unpickler(f, encoding='latin1')",
           "np.load(p, allow_pickle=True)", "eval(text)", "exec(code)"]
    for line in bad:
        assert any(pattern.search(line) for pattern, _ in FORBIDDEN), line
    for line in ["_NumpyOnlyUnpickler(handle, encoding='latin1').load()", "model.eval()", "np.load(p)"]:
        assert not any(pattern.search(line) for pattern, _ in FORBIDDEN), line
