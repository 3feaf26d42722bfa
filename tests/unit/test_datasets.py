"""--data readers: the three layouts, class names, sizes, splits, and clean refusals with bounded memory."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgelenet.datasets import check_model_fits, hold_out, imbalance_note, load_dataset
from edgelenet.data import Split
from edgelenet.errors import UserError
from edgelenet.family import DataInfo
from edgelenet.images import read_gray, rgb_to_gray

ROOT = Path(__file__).resolve().parents[2]


def _folder(root: Path, classes=("cat", "ant"), size=(6, 5), splits=("train", "test"), per_class=3) -> Path:
    rng = np.random.default_rng(0)
    for split in splits:
        for name in classes:
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(root / split / name / f"{i}.png")
    return root


def test_class_folders_sorted_or_listed(tmp_path):
    data = load_dataset(_folder(tmp_path), need_train=True)
    assert data.classes == ("ant", "cat") and data.input_size == (6, 5) and len(data.test) == 6
    assert len(data.train) + len(data.valid) == 6 and len(data.valid) == 1   # 10 %, at least one
    (tmp_path / "classes.txt").write_text("cat\nant\n")
    assert load_dataset(tmp_path).classes == ("cat", "ant")
    info = load_dataset(tmp_path).info()
    assert info.dataset["name"] == tmp_path.name and len(info.dataset["fingerprint"]) == 64


def test_colour_jpeg_and_bmp_become_documented_gray(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 30]]], np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    assert read_gray(tmp_path / "a.bmp").tolist() == [[76, 150, 29, 124]]
    assert rgb_to_gray(rgb).tolist() == [[(299 * 255 + 500) // 1000, (587 * 255 + 500) // 1000,
                                          (114 * 255 + 500) // 1000, (299 * 10 + 587 * 200 + 114 * 30 + 500) // 1000]]
    Image.fromarray(np.full((4, 4, 3), 128, np.uint8)).save(tmp_path / "b.jpg", quality=95)
    assert read_gray(tmp_path / "b.jpg").shape == (4, 4)


def test_test_split_alone_measures_but_does_not_train(tmp_path):
    _folder(tmp_path, splits=("test",))
    assert load_dataset(tmp_path).train is None
    with pytest.raises(UserError, match="training needs a train split"):
        load_dataset(tmp_path, need_train=True)


@pytest.mark.parametrize("defect,message", [
    ("size", "all images of a data set must share one size"),
    ("class", "is not one of the classes"),
    ("one", "need 2..100"),
])
def test_folder_defects_are_one_clear_error(tmp_path, defect, message):
    _folder(tmp_path, classes=("a",) if defect == "one" else ("a", "b"))
    if defect == "size":
        Image.fromarray(np.zeros((7, 5), np.uint8)).save(tmp_path / "test" / "a" / "odd.png")
    if defect == "class":
        _folder(tmp_path, classes=("zebra",), splits=("test",))
    with pytest.raises(UserError, match=message):
        load_dataset(tmp_path)


def _idx(path: Path, array: np.ndarray, compress: bool) -> None:
    raw = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def test_idx_folder_with_test_prefix_and_gzip(tmp_path):
    rng = np.random.default_rng(1)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 9, 7), dtype=np.uint8), True)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(20, dtype=np.uint8) % 3, True)
    _idx(tmp_path / "test-images-idx3-ubyte", rng.integers(0, 256, (6, 9, 7), dtype=np.uint8), False)
    _idx(tmp_path / "test-labels-idx1-ubyte", np.arange(6, dtype=np.uint8) % 3, False)
    data = load_dataset(tmp_path, need_train=True, valid_fraction=0.25)
    assert data.classes == ("0", "1", "2") and data.input_size == (9, 7)
    assert (len(data.train), len(data.valid), len(data.test)) == (15, 5, 6)


def test_npz_with_classes_and_refusals(tmp_path):
    x = np.zeros((4, 8, 8), np.uint8)
    np.savez(tmp_path / "ok.npz", x_train=x, y_train=np.array([0, 1, 2, 0]), x_test=x, y_test=np.array([2, 1, 0, 0]),
             classes=np.array(["r", "g", "b"]))
    data = load_dataset(tmp_path / "ok.npz")
    assert data.classes == ("r", "g", "b") and data.name == "ok"
    np.savez(tmp_path / "obj.npz", x_test=np.array([{"a": 1}], dtype=object), y_test=np.array([0]))
    np.savez(tmp_path / "float.npz", x_test=x.astype(np.float32), y_test=np.array([0, 1, 0, 1]))
    np.savez(tmp_path / "label.npz", x_test=x, y_test=np.array([0, 1, 0, 5]), classes=np.array(["a", "b"]))
    for name, message in (("obj", "Python objects"), ("float", "must be uint8"), ("label", "only 2 classes")):
        with pytest.raises(UserError, match=message):
            load_dataset(tmp_path / f"{name}.npz")


def test_hold_out_never_takes_everything():
    split = Split(np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 0]))
    assert [len(s) for s in hold_out(split, 0.9)] == [1, 2]
    assert [len(s) for s in hold_out(split, 0)] == [3, 0]
    with pytest.raises(UserError):
        hold_out(split, 1.0)


def test_imbalance_is_reported():
    split = Split(np.zeros((7, 2, 2), np.uint8), np.array([0, 0, 0, 0, 0, 0, 1]))
    assert "imbalance" in imbalance_note(split, ("a", "b"))
    assert imbalance_note(Split(split.images[:2], np.array([0, 1])), ("a", "b")) is None


def test_model_and_data_must_match(tmp_path):
    data = load_dataset(_folder(tmp_path))
    mine = data.info()
    check_model_fits(mine, data, True, "m")
    with pytest.raises(UserError, match="not MNIST: pass --data"):
        check_model_fits(mine, data, False, "m")
    with pytest.raises(UserError, match="classes"):
        check_model_fits(DataInfo(), data, True, "m")
    with pytest.raises(UserError, match="takes 9x5 images"):
        check_model_fits(DataInfo(classes=mine.classes, input_size=(9, 5)), data, True, "m")


# ----------------------------------------------------------------------------- hostile files, memory bounded

def _png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims width x height (CRC fixed, so only the size is a lie)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


PROBE = """
import json, resource, sys
from pathlib import Path
from edgelenet.datasets import load_dataset
from edgelenet.errors import UserError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_dataset(Path(sys.argv[1]))
    outcome = "accepted"
except UserError as exc:
    outcome = "error: " + str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "grew_kb": after - before}))
"""


def _probe(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("case", ["png-20000", "gzip-bomb-huge-header", "gzip-bomb-lying-header", "npz-huge"])
def test_hostile_files_are_refused_within_a_memory_bound(tmp_path, case):
    """Each would need > 400 MB if decoded (the gzip streams inflate to 480 MB); the refusal must cost < 40 MB
    (ru_maxrss, in a fresh process)."""
    root = tmp_path / "data"
    if case == "png-20000":
        _folder(root, size=(4, 4))
        (root / "test" / "cat" / "huge.png").write_bytes(_png_claiming(20000, 20000))
    elif case.startswith("gzip-bomb"):
        root.mkdir()
        count = 2_000_000 if case == "gzip-bomb-huge-header" else 10   # 1.6 GB declared, or 7,840 bytes
        header = bytes([0, 0, 8, 3]) + struct.pack(">3I", count, 28, 28)
        with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb", compresslevel=9) as handle:
            handle.write(header)
            zeros = bytes(1 << 20)
            for _ in range(480):   # 480 MB of zeros, about 0.5 MB compressed
                handle.write(zeros)
        _idx(root / "t10k-labels-idx1-ubyte", np.zeros(count, np.uint8), False)
    else:
        root = tmp_path / "huge.npz"
        header = {"descr": "|u1", "fortran_order": False, "shape": (1_000_000, 1024, 1024)}
        import io
        import zipfile
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, header)
        with zipfile.ZipFile(root, "w") as archive:
            archive.writestr("x_test.npy", buffer.getvalue() + bytes(64))
            archive.writestr("y_test.npy", buffer.getvalue())
    result = _probe(root)
    assert result["outcome"].startswith("error: "), result
    assert result["grew_kb"] < 40_000, result
