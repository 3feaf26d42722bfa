"""Quantization: lookup tables, artifact round trip and refusal, reference engine vs float, calibration sets."""

import json

import numpy as np
import pytest
import torch

from calibration.selection import select_calibration_set
from edgelenet.calibration_data import load_calibration_images
from edgelenet import reference
from edgelenet.artifact import artifact_bytes, load_artifact, save_artifact
from edgelenet.errors import UserError
from edgelenet.model import SQUASH_A, SQUASH_S, build_model, float_model_of, logits_numpy
from edgelenet.quantize import INPUT_QPARAMS, quantize_model, tanh_table
from edgelenet.artifact import QParams


def test_input_quantization_is_lossless():
    pixels = np.arange(256, dtype=np.uint8).repeat(4)[:784].reshape(1, 28, 28)
    q = reference.prepare_input(pixels)
    assert q.shape == (1, 1, 32, 32) and q.dtype == np.int8
    assert (q[0, 0, :2] == -128).all() and (q[0, 0, :, -2:] == -128).all()
    x = INPUT_QPARAMS.scale * (q.astype(np.float64) + 108)
    from edgelenet.model import normalize_pixels
    assert np.allclose(x, normalize_pixels(torch.from_numpy(pixels)).numpy(), atol=1e-6)


def test_tanh_table_matches_the_float_function():
    pre, out = QParams(0.04, 3), QParams(3.4318 / 255, 0)
    table = tanh_table(pre, out)
    q = np.arange(-128, 128)
    exact = SQUASH_A * np.tanh(SQUASH_S * pre.scale * (q - pre.zero_point))
    dequantized = out.scale * (table.astype(np.float64) - out.zero_point)
    assert np.abs(dequantized - exact).max() <= out.scale / 2 + 1e-12  # within half an output step
    assert np.all(np.diff(table.astype(int)) >= 0)  # monotonic, like tanh


def test_reference_agrees_with_float_model(int8_model, test_subset):
    float_labels = logits_numpy(float_model_of(int8_model), test_subset.images).argmax(1)
    int8_labels, logits = reference.predict(int8_model, test_subset.images)
    assert logits.dtype == np.int8 and logits.shape == (len(test_subset), 10)
    assert np.mean(int8_labels == float_labels) >= 0.99
    assert np.mean(int8_labels == test_subset.labels) >= 0.98


def test_logits_track_the_float_logits(modern_int8, test_subset):
    float_logits = logits_numpy(float_model_of(modern_int8), test_subset.images[:200])
    q = modern_int8.logits
    dequantized = reference.dequantize(reference.predict(modern_int8, test_subset.images[:200])[1], q.scale, q.zero_point)
    assert np.abs(dequantized - float_logits).mean() < 3 * q.scale


def test_reference_is_batch_independent(classic_int8, test_subset):
    images = test_subset.images[:40]
    whole = reference.predict(classic_int8, images)[1]
    single = np.concatenate([reference.predict(classic_int8, images[i:i + 1])[1] for i in range(40)])
    assert np.array_equal(whole, single)


def test_artifact_round_trip_and_determinism(int8_model, tmp_path):
    path = save_artifact(int8_model, tmp_path / "a.safetensors")
    loaded = load_artifact(path)
    assert artifact_bytes(loaded) == path.read_bytes()
    for a, b in zip(int8_model.layers, loaded.layers):
        assert a.describe() == b.describe()
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.multiplier, b.multiplier)
    x = reference.prepare_input(np.zeros((2, 28, 28), np.uint8))
    assert np.array_equal(reference.run(int8_model, x), reference.run(loaded, x))


def _rewrite_metadata(path, change):
    from safetensors import safe_open
    from safetensors.numpy import load, save
    with safe_open(str(path), framework="numpy") as handle:
        info = json.loads(handle.metadata()["edgelenet"])
    tensors = load(path.read_bytes())
    change(info, tensors)
    path.write_bytes(save(tensors, metadata={"edgelenet": json.dumps(info)}))


def test_tampered_truncated_and_newer_artifacts_are_refused(artifact_path, tmp_path):
    raw = artifact_path.read_bytes()
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_artifact(truncated)

    tampered = tmp_path / "w.safetensors"
    tampered.write_bytes(raw)
    _rewrite_metadata(tampered, lambda info, t: t["C3.weights"].__setitem__((0, 0, 0, 0), 5))
    with pytest.raises(UserError, match="checksum"):
        load_artifact(tampered)

    newer = tmp_path / "n.safetensors"
    newer.write_bytes(raw)
    _rewrite_metadata(newer, lambda info, t: info.__setitem__("version", 2))
    with pytest.raises(UserError, match="newer"):
        load_artifact(newer)

    checkpoint = tmp_path / "c.safetensors"
    from edgelenet.checkpoint import save_checkpoint
    save_checkpoint(build_model(), checkpoint)
    with pytest.raises(UserError, match="not an edgelenet int8 artifact"):
        load_artifact(checkpoint)


def test_calibration_selection_is_balanced_deterministic_and_never_test(mnist):
    a = select_calibration_set(mnist.train, 105, seed=3)
    b = select_calibration_set(mnist.train, 105, seed=3)
    assert np.array_equal(a, b) and a.shape == (105, 28, 28)
    assert not np.array_equal(a, select_calibration_set(mnist.train, 105, seed=4))
    index = {img.tobytes(): label for img, label in zip(mnist.train.images, mnist.train.labels)}
    counts = np.bincount([index[img.tobytes()] for img in a], minlength=10)
    assert counts.max() - counts.min() <= 1


def test_empty_single_class_and_bad_shape_calibration_sets(mnist, tmp_path):
    from edgelenet.data import Split
    model = build_model("modern")
    with pytest.raises(UserError, match="empty"):
        quantize_model(model, np.zeros((0, 28, 28), np.uint8))
    with pytest.raises(UserError, match="must be uint8"):
        quantize_model(model, np.zeros((4, 32, 32), np.uint8))
    ones = mnist.train.labels == 1
    with pytest.raises(UserError, match="single class"):
        select_calibration_set(Split(mnist.train.images[ones], mnist.train.labels[ones]), 50)
    np.save(tmp_path / "wrong.npy", np.zeros((3, 20, 20), np.uint8))
    with pytest.raises(UserError, match=r"must be uint8 \(N, 28, 28\) for this model"):
        quantize_model(model, load_calibration_images(tmp_path / "wrong.npy", 10))


def test_constant_layer_gets_a_warning_and_a_usable_range(mnist):
    model = build_model("modern")
    with torch.no_grad():
        model.c1.weight.zero_()
        model.c1.bias.fill_(-1.0)  # ReLU output is always 0
    images = select_calibration_set(mnist.train, 50)
    with pytest.warns(UserWarning, match="never vary"):
        qmodel, notes = quantize_model(model, images)
    assert any("C1" in note for note in notes)
    labels, _ = reference.predict(qmodel, images)
    assert labels.shape == (50,)


def test_per_tensor_uses_one_weight_scale(mnist):
    from edgelenet.checkpoint import load_checkpoint
    model, _ = load_checkpoint("modern")
    qmodel, _ = quantize_model(model, select_calibration_set(mnist.train, 100), per_tensor=True)
    for layer in qmodel.layers:
        assert np.unique(layer.weight_scales).size == 1


def test_rbf_head_trains_and_quantizes(mnist, test_subset):
    """The paper's RBF output: trains (a short run) and keeps its ranking through int8."""
    from edgelenet.train import TrainConfig, accuracy, train
    model = train(TrainConfig(arch="classic", head="rbf", epochs=2, train_limit=8000, threads=1), mnist).model
    assert accuracy(model, test_subset) > 0.7  # far above chance (0.1) after a short run
    qmodel, _ = quantize_model(model, select_calibration_set(mnist.train, 200))
    float_labels = logits_numpy(model, test_subset.images).argmax(1)
    assert np.mean(reference.predict(qmodel, test_subset.images)[0] == float_labels) > 0.97
