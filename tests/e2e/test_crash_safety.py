"""Crash safety and concurrency: `kill -9` at any moment leaves the previous files or complete new ones;
concurrent runs into different directories do not interfere; training resumes to the same bytes."""

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgelenet.artifact import load_artifact
from edgelenet.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "edgelenet"]
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)


def run(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout)


def no_temporaries(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")] if directory.exists() else True


def test_training_killed_after_an_epoch_resumes_to_identical_bytes(tmp_path):
    args = ["train", "--epochs", "3", "--limit", "3000", "--seed", "5"]
    assert run(*args, "--out", tmp_path / "straight").returncode == 0
    interrupted = tmp_path / "interrupted"
    proc = start(*args, "--out", interrupted)
    deadline = time.time() + 300
    while not (interrupted / "train_state.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert not (interrupted / "modern.safetensors").exists()
    resumed = run(*args, "--out", interrupted, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    straight = (tmp_path / "straight" / "modern.safetensors").read_bytes()
    assert (interrupted / "modern.safetensors").read_bytes() == straight


def test_quantize_killed_at_random_moments_leaves_old_or_complete_artifact(tmp_path):
    """The artifact path always holds the previous complete artifact or the new one, never a torn file."""
    target = tmp_path / "model.int8"
    assert run("quantize", "modern", "--calib-size", "100", "--out", target).returncode == 0
    previous = target.read_bytes()
    rng = random.Random(0)
    outcomes = set()
    for _ in range(6):
        proc = start("quantize", "classic", "--calib-size", "100", "--out", target)
        time.sleep(rng.uniform(0.5, 12.0))
        proc.kill()
        proc.wait()
        data = target.read_bytes()
        if data != previous:
            load_artifact(target)  # complete and verified, or this raises
            outcomes.add("new")
            previous = data
        else:
            outcomes.add("old")
        assert no_temporaries(tmp_path) or proc.returncode is not None
    assert outcomes  # each kill point left a loadable artifact


def test_train_killed_at_random_moments_never_leaves_torn_files(tmp_path):
    rng = random.Random(1)
    for attempt in range(4):
        out = tmp_path / f"run{attempt}"
        proc = start("train", "--epochs", "2", "--limit", "2000", "--out", out)
        time.sleep(rng.uniform(2.0, 20.0))
        proc.kill()
        proc.wait()
        if (out / "modern.safetensors").exists():
            load_checkpoint(out / "modern.safetensors")
        if (out / "train_state.pt").exists():
            import torch
            torch.load(out / "train_state.pt", weights_only=True)


def test_two_quantize_runs_at_once_do_not_interfere(tmp_path):
    procs = [subprocess.Popen([*CLI, "quantize", arch, "--calib-size", "100", "--out", str(tmp_path / arch / "a.int8")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV) for arch in ("modern", "classic")]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    assert load_artifact(tmp_path / "modern" / "a.int8").arch == "modern"
    assert load_artifact(tmp_path / "classic" / "a.int8").arch == "classic"
    sequential = run("quantize", "classic", "--calib-size", "100", "--out", tmp_path / "seq.int8")
    assert sequential.returncode == 0
    assert (tmp_path / "seq.int8").read_bytes() == (tmp_path / "classic" / "a.int8").read_bytes()


def test_mnist_cache_built_by_two_processes_at_once(tmp_path):
    env = dict(ENV, EDGELENET_CACHE=str(tmp_path / "cache"))
    code = "from edgelenet.data import load_mnist; print(len(load_mnist().test))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True) for _ in range(2)]
    assert [p.communicate(timeout=600)[0].strip() for p in procs] == ["10000", "10000"]
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    from edgelenet import data
    assert data._load_cache(files[0]) is not None


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_export_c_killed_at_random_moments_leaves_old_or_new_files(tmp_path, artifact_path, classic_artifact_path):
    """The export directory is the previous export or the new one as a whole, never torn, never a mix."""
    out = tmp_path / "c"
    assert run("export-c", artifact_path, "--out", out).returncode == 0
    old = _tree(out)
    fresh = tmp_path / "fresh"
    assert run("export-c", classic_artifact_path, "--out", fresh).returncode == 0
    new = _tree(fresh)
    rng = random.Random(2)
    for _ in range(6):
        proc = start("export-c", classic_artifact_path, "--out", out)
        time.sleep(rng.uniform(0.3, 6.0))
        proc.kill()
        proc.wait()
        assert _tree(out) in (old, new), "the export directory mixes two exports or holds a torn file"


def test_two_export_c_runs_at_once_do_not_interfere(tmp_path, artifact_path, classic_artifact_path):
    procs = [subprocess.Popen([*CLI, "export-c", str(art), "--out", str(tmp_path / name)], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for name, art in (("a", artifact_path), ("b", classic_artifact_path))]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    for name, art in (("a", artifact_path), ("b", classic_artifact_path)):
        alone = tmp_path / f"{name}-alone"
        assert run("export-c", art, "--out", alone).returncode == 0
        assert _tree(alone) == _tree(tmp_path / name)
