"""Every command on the crafted corpus (tests/crafted.py) and on hostile paths: exit code 2, exactly one
`error:` line, no traceback, no file written, no input destroyed."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from edgelenet import cli, commands
from edgelenet.artifact import artifact_bytes
from edgelenet.checkpoint import checkpoint_bytes, resolve_model_path
from edgelenet.errors import UserError
from edgelenet.model import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import crafted  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "edgelenet"]
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))


def tree(directory: Path) -> dict[str, bytes | str]:
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else "dir"
            for p in sorted(directory.rglob("*"))}


def invoke(capsys, argv: list[str]) -> tuple[int, str]:
    """(exit code, stderr) of the CLI's `main` in this process: an unexpected exception fails the test."""
    with pytest.raises(SystemExit) as done:
        cli.main([str(a) for a in argv])
    return done.value.code, capsys.readouterr().err


def assert_one_error_line(code: int, err: str, context: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and lines[-1] == errors[0], f"{context}: exit {code}\n{err}"
    assert "Traceback" not in err, f"{context}\n{err}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, modern_int8, classic_int8) -> tuple[list[Path], list[Path]]:
    folder = tmp_path_factory.mktemp("corpus")
    artifacts = crafted.artifact_cases(artifact_bytes(modern_int8), artifact_bytes(classic_int8))
    checkpoints = crafted.checkpoint_cases(checkpoint_bytes(build_model("modern")))
    paths = ([], [])
    for index, cases in enumerate((artifacts, checkpoints)):
        for case in cases:
            (folder / case.name).write_bytes(case.data)
            paths[index].append(folder / case.name)
    return paths


@pytest.fixture()
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "digits.npy", np.zeros((2, 28, 28), np.uint8))
    return tmp_path


ARTIFACT_COMMANDS = [
    ["export-c", "{f}", "--out", "out/c"],
    ["export-onnx", "{f}", "--out", "out/onnx"],
    ["validate", "{f}", "--limit", "10", "--junit", "out/v.xml"],
    ["predict", "{f}", "digits.npy", "--backend", "c"],
]
CHECKPOINT_COMMANDS = [
    ["quantize", "{f}", "--calib-size", "10", "--out", "out/q.safetensors"],
    ["evaluate", "{f}", "--out", "out/e"],
    ["export-onnx", "{f}", "--out", "out/onnx"],
    ["predict", "{f}", "digits.npy"],
    ["run", "--model", "{f}", "--out", "out/run"],
    ["import", "{f}", "--out", "out/i.safetensors"],
]


def test_every_command_refuses_every_crafted_file(corpus, workdir, capsys):
    artifacts, checkpoints = corpus
    before = tree(workdir)
    runs = 0
    for files, commands in ((artifacts, ARTIFACT_COMMANDS), (checkpoints, CHECKPOINT_COMMANDS)):
        for path in files:
            for command in commands:
                argv = [str(path) if a == "{f}" else a for a in command]
                code, err = invoke(capsys, argv)
                assert_one_error_line(code, err, f"{path.name}: {' '.join(command)}")
                runs += 1
    assert tree(workdir) == before, "a refused command wrote a file"
    print(f"\n{runs} refusals")


@pytest.mark.parametrize("argv, message", [
    (["train", "--seed", "-1"], "--seed"),
    (["quantize", "modern", "--seed", "-1"], "--seed"),
    (["run", "--seed", "99999999999"], "--seed"),
    (["export-c", "{a}", "--prefix", "stdint"], "shadow the standard C header"),
    (["export-c", "{a}", "--prefix", "STDDEF"], "shadow the standard C header"),
    (["export-c", "{a}", "--prefix", "main"], "reserved"),
    (["export-c", "{a}", "--prefix", "x" * 300], "at most"),
    (["validate", "{a}", "--max-accuracy-drop", "nan"], "--max-accuracy-drop"),
    (["validate", "{a}", "--max-accuracy-drop", "-1"], "--max-accuracy-drop"),
    (["validate", "{a}", "--min-agreement", "inf"], "--min-agreement"),
    (["validate", "{a}", "--c-max-logit-diff", "-3"], "--c-max-logit-diff"),
    (["validate", "{a}", "--junit", "{a}"], "is the input"),
    (["validate", "{a}", "--junit", "."], "is a directory"),
    (["quantize", "modern", "--out", "."], "is a directory"),
    (["export-c", "{a}", "--out", "{dir}"], "contains the input"),
    (["validate", "--bogus"], "No such option"),
    (["export-c"], "Missing argument"),
])
def test_bad_options_and_outputs_give_one_error_line(artifact_path, workdir, capsys, argv, message):
    artifact = workdir / "m.safetensors"
    shutil.copy(artifact_path, artifact)
    argv = [str(artifact) if a == "{a}" else str(workdir) if a == "{dir}" else a for a in argv]
    before = tree(workdir)
    code, err = invoke(capsys, argv)
    assert_one_error_line(code, err, " ".join(argv[:3]))
    assert message in err.splitlines()[-1], err
    assert tree(workdir) == before


def test_import_refuses_to_overwrite_its_own_model(workdir, capsys):
    import torch

    model = workdir / "net.pt"
    torch.save(build_model("modern").state_dict(), model)
    before = model.read_bytes()
    code, err = invoke(capsys, ["import", model, "--out", model])
    assert_one_error_line(code, err, "import M --out M")
    assert "is the input" in err and model.read_bytes() == before


def test_quantize_refuses_to_overwrite_its_own_checkpoint(workdir, capsys):
    model = workdir / "m.safetensors"
    shutil.copy(resolve_model_path("modern"), model)
    before = model.read_bytes()
    code, err = invoke(capsys, ["quantize", model, "--out", model, "--calib-size", "10"])
    assert_one_error_line(code, err, "quantize M --out M")
    assert "is the input" in err and model.read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_files_are_never_replaced(artifact_path, workdir, capsys, kind):
    """validate --junit onto a FIFO or a character device (a /dev/null twin made here): refused, the node
    stays what it was (a rename over it would replace it with a regular file)."""
    node = workdir / kind
    if kind == "fifo":
        os.mkfifo(node)
    elif os.geteuid() == 0:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        node = Path("/dev/null")
    code, err = invoke(capsys, ["validate", artifact_path, "--limit", "10", "--junit", node])
    assert_one_error_line(code, err, f"--junit {kind}")
    assert "not a regular file" in err
    mode = os.stat(node).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)


def _idx(path: Path, shape: tuple[int, ...], body: bytes | None = None) -> None:
    header = struct.pack(f">BBBB{len(shape)}I", 0, 0, 8, len(shape), *shape)
    path.write_bytes(header + (body if body is not None else bytes(int(np.prod(shape)))))


@pytest.mark.parametrize("train_images", [0, 20])
def test_validate_on_zero_images_is_an_error(artifact_path, workdir, capsys, train_images):
    """An IDX data set with no test image (and no or some training images): exit 2, never PASSED."""
    data = workdir / "empty"
    data.mkdir()
    _idx(data / "train-images-idx3-ubyte", (train_images, 28, 28))
    _idx(data / "train-labels-idx1-ubyte", (train_images,), bytes(i % 10 for i in range(train_images)))
    _idx(data / "t10k-images-idx3-ubyte", (0, 28, 28))
    _idx(data / "t10k-labels-idx1-ubyte", (0,))
    code, err = invoke(capsys, ["validate", artifact_path, "--data", data])
    assert_one_error_line(code, err, "validate on an empty test set")
    assert re.search("no images|no test split|class", err.splitlines()[-1]), err


def test_python_warnings_are_not_printed_beside_the_error(workdir, capsys, monkeypatch):
    def warn_then_fail(*args):
        warnings.warn("a library's warning", UserWarning)
        raise UserError("the real problem")
    monkeypatch.setattr(commands, "export_c", warn_then_fail)
    code, err = invoke(capsys, ["export-c", "x.safetensors"])
    assert_one_error_line(code, err, "warning then error")
    assert err.strip() == "error: the real problem"


def test_empty_cache_variable_never_means_the_current_folder(monkeypatch, tmp_path):
    from edgelenet import data

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EDGELENET_CACHE", "")
    assert data.cache_dir().resolve() != tmp_path.resolve() and data.cache_dir().is_absolute()


# ---- real processes: tracebacks, signals, resource limits, permissions ---------------------------------

def run_cli(*args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout,
                          **kwargs)


def test_a_real_process_prints_one_line_for_a_hostile_artifact(corpus, tmp_path):
    artifacts, _ = corpus
    deep = next(p for p in artifacts if p.name == "deep-json")
    done = run_cli("export-c", deep, "--out", tmp_path / "c")
    assert_one_error_line(done.returncode, done.stderr, "export-c on deep JSON")
    assert not (tmp_path / "c").exists()


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_gives_one_error_line_and_keeps_the_previous_export(artifact_path, classic_artifact_path, tmp_path):
    """A file-size limit (ulimit -f) makes the weights header unwritable: one line, the old export intact."""
    out = tmp_path / "c"
    assert run_cli("export-c", artifact_path, "--out", out).returncode == 0
    old = tree(out)
    weights = (out / "lenet5_weights.h").stat().st_size
    done = run_cli("export-c", classic_artifact_path, "--out", out, preexec_fn=_limit_file_size(weights // 4))
    assert_one_error_line(done.returncode, done.stderr, "export-c with ulimit -f")
    assert "file too large" in done.stderr or "no space" in done.stderr
    assert tree(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]   # no staging directory left behind


def test_sigterm_removes_temporary_files(artifact_path, tmp_path):
    """SIGTERM at several moments of export-c: exit 143 (or done), no temporary file or folder left, and
    OUT is absent or complete."""
    complete = tmp_path / "complete"
    assert run_cli("export-c", artifact_path, "--out", complete).returncode == 0
    for delay in (0.2, 1.0, 1.6, 2.2, 3.0):
        work = tmp_path / f"t{delay}"
        work.mkdir()
        proc = subprocess.Popen([*CLI, "export-c", str(artifact_path), "--out", str(work / "c")], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), err
        assert "Traceback" not in err, err
        assert [p.name for p in work.iterdir()] in ([], ["c"]), list(work.iterdir())
        if (work / "c").exists():
            assert tree(work / "c") == tree(complete)


def test_permission_denied_is_reported_as_such(artifact_path, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(artifact_path, locked / "m.safetensors")
    prefix = []
    if os.geteuid() == 0:   # root reads anything: drop the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    os.chmod(locked, 0)
    try:
        done = subprocess.run([*prefix, *CLI, "export-c", str(locked / "m.safetensors"), "--out", str(tmp_path / "c")],
                              capture_output=True, text=True, env=ENV, timeout=300)
    finally:
        os.chmod(locked, 0o755)
    assert_one_error_line(done.returncode, done.stderr, "unreadable artifact")
    assert "permission denied" in done.stderr and "not found" not in done.stderr


def test_export_c_needs_no_torch(artifact_path, tmp_path):
    """firmware_export and the artifact loader import no torch: export-c works where torch is unimportable."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from pathlib import Path\n"
            "from edgelenet.artifact import load_artifact\n"
            "from firmware_export import export_c\n"
            f"result = export_c(load_artifact(Path({str(artifact_path)!r})), Path({str(tmp_path / 'c')!r}),"
            " measure_flash=False)\n"
            "assert sys.modules['torch'] is None\n"
            "print(len(result['files']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 8 and (tmp_path / "c" / "lenet5.c").is_file()
    # the shim works: importing torch under it fails, so the export above really ran without torch
    probe = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None; import torch"],
                           capture_output=True, text=True, env=ENV)
    assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr or "ImportError" in probe.stderr


def test_free_text_in_an_artifact_never_becomes_c_code(modern_int8, host_cc, tmp_path):
    """Class names, the data set name, calibration and report fields full of C syntax: the artifact loads
    (they are legal text), and the export holds none of it as code: it compiles strictly, no `#error` fires."""
    from edgelenet.artifact import load_artifact
    from firmware_export import build, export_c

    payload = '*/ #error injected\n"); } int x = ("'
    def edit(body, tensors):
        body["calibration"] = {"source": payload}
        body["report"] = {"note": payload}
        body["classes"] = [f'{d} */ #error "\\??=' for d in range(10)]
        body["dataset"] = {"name": "*/ #error data set", "fingerprint": "0" * 64}
    artifact = tmp_path / "a.safetensors"
    artifact.write_bytes(crafted.edited(artifact_bytes(modern_int8), lambda b, t: None))
    with pytest.raises(UserError, match="printable"):   # the newline in a class name is refused
        hostile = tmp_path / "newline.safetensors"
        hostile.write_bytes(crafted.edited(artifact_bytes(modern_int8), lambda b, t: b.update(classes=[
            f"{d}\n" for d in range(10)])))
        load_artifact(hostile)
    artifact.write_bytes(crafted.edited(artifact_bytes(modern_int8), edit))
    model = load_artifact(artifact)
    export_c(model, tmp_path / "c", measure_flash=False)
    for path in (tmp_path / "c").rglob("*"):
        if path.suffix in (".c", ".h"):
            text = path.read_text()
            assert "injected" not in text and "#error data set" not in text, path   # never copied
    # the class names are string literals: an #error escaping one would stop this strict compile
    build.compile_host([ROOT / "tests" / "e2e" / "c" / "infer_stdin.c", tmp_path / "c" / "lenet5.c"],
                       tmp_path / "infer", ["-O1", f"-I{tmp_path / 'c'}"], host_cc)
    assert '#error \\042' in (tmp_path / "c" / "lenet5.c").read_text()   # the names did reach the C, escaped


def test_the_export_c_command_runs_without_torch(artifact_path, tmp_path):
    """`edgelenet export-c` as a firmware build runs it (the CLI, not only the library) with torch made
    unimportable: the command's imports never reach torch."""
    code = ("import runpy, sys; sys.modules['torch'] = None\n"
            f"sys.argv = ['edgelenet', 'export-c', {str(artifact_path)!r}, '--out', {str(tmp_path / 'c')!r}, '--json']\n"
            "runpy.run_module('edgelenet', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scratch_bytes"] > 0 and (tmp_path / "c" / "lenet5.c").is_file()


def test_the_export_onnx_command_runs_without_torch(classic_artifact_path, tmp_path):
    """`edgelenet export-onnx ARTIFACT` with torch made unimportable: both graphs come from the artifact's own
    tensors (the float one through edgelenet.layer_plan), and both pass the full checker."""
    import onnx

    code = ("import runpy, sys; sys.modules['torch'] = None\n"
            f"sys.argv = ['edgelenet', 'export-onnx', {str(classic_artifact_path)!r}, '--out', {str(tmp_path)!r}, "
            "'--json']\nrunpy.run_module('edgelenet', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["variants"] == ["float", "int8"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classic-float.onnx", "classic-int8.onnx"]
    for path in tmp_path.iterdir():
        onnx.checker.check_model(onnx.load(path), full_check=True)
