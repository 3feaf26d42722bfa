"""The LeNet-5 family: widths, class counts and the data record in checkpoints and artifacts."""

import pytest
import torch

from edgelenet.checkpoint import checkpoint_bytes, load_checkpoint, resolve_model_path, save_checkpoint
from edgelenet.errors import UserError
from edgelenet.family import (MNIST_FINGERPRINT, DataInfo, ModelConfig, c3_connections, fingerprint,
                              parse_widths)
from edgelenet.model import build_model, float_model_of
from edgelenet.summary import summary_dict

SMALL = DataInfo(classes=("cat", "dog", "bird"), input_size=(8, 8), background=0,
                 dataset={"name": "pets", "fingerprint": "ab" * 32})


@pytest.mark.parametrize("spec", ["classic", "modern"])
def test_shipped_checkpoints_resave_byte_identical(spec):
    model, training = load_checkpoint(spec)
    assert model.config.widths == (6, 16, 120, 84) and model.data == DataInfo()
    assert checkpoint_bytes(model, training) == resolve_model_path(spec).read_bytes()


@pytest.mark.parametrize("arch", ["classic", "modern"])
@pytest.mark.parametrize("widths", [(2, 4, 16, 8), (12, 32, 200, 100)])
def test_family_member_round_trips(tmp_path, arch, widths):
    model = build_model(arch, "softmax", widths, 3, SMALL)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 3)
    path = save_checkpoint(model, tmp_path / "m.safetensors")
    loaded, _ = load_checkpoint(path)
    assert loaded.config == ModelConfig(arch, "softmax", widths, 3) and loaded.data == SMALL
    table = summary_dict(loaded)
    assert table["layers"][-1]["output_shape"] == [3] and table["widths"] == list(widths)


def test_c3_table_only_for_paper_widths():
    assert len(c3_connections(6, 16)[0]) == 3
    assert c3_connections(4, 5) == ((0, 1, 2, 3),) * 5


@pytest.mark.parametrize("text", ["6,16,120", "0,16,120,84", "6,65,120,84", "6,16,1025,84", "a,b,c,d"])
def test_bad_widths_refused(text):
    with pytest.raises(UserError):
        parse_widths(text)


@pytest.mark.parametrize("classes", [("a",), ("a", "a"), ("a", "b\n"), ("",), tuple(str(i) for i in range(101))])
def test_bad_class_names_refused(classes):
    with pytest.raises(UserError):
        DataInfo(classes=classes)


def test_rbf_needs_ten_digit_classes():
    with pytest.raises(UserError):
        ModelConfig("classic", "rbf", num_classes=3)


def test_mnist_fingerprint_matches_the_packaged_test_split(mnist):
    assert fingerprint(mnist.test.images, mnist.test.labels) == MNIST_FINGERPRINT


@pytest.mark.parametrize("widths", [(2, 4, 16, 8), (8, 40, 300, 100)])
def test_artifact_round_trip_and_reference_match_float(tmp_path, widths):
    """Quantize a narrow and a wide member (C5 fan-in 1000: the reference sums in float64 there)."""
    import numpy as np

    from edgelenet import reference
    from edgelenet.artifact import load_artifact, save_artifact
    from edgelenet.model import logits_numpy
    from edgelenet.quantize import quantize_model

    torch.manual_seed(0)
    model = build_model("modern", "softmax", widths, 3, SMALL.__class__(classes=SMALL.classes, dataset=SMALL.dataset))
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    qmodel, _ = quantize_model(model, images)
    loaded = load_artifact(save_artifact(qmodel, tmp_path / "a.safetensors"))
    assert loaded.widths == widths and loaded.data.classes == SMALL.classes
    labels, logits = reference.predict(loaded, images)
    assert logits.shape == (64, 3)
    float_labels = logits_numpy(float_model_of(loaded), images).argmax(1)
    assert np.mean(labels == float_labels) > 0.8


@pytest.mark.parametrize("arch,widths,classes", [("modern", (64, 64, 1024, 1024), 100), ("classic", (3, 5, 16, 12), 4)])
def test_widest_and_narrow_members_in_reference_and_onnx(arch, widths, classes):
    """The limits of the family (fan-in 1,600 and 1,024: float64 sums in the reference) on a 20x36 geometry:
    int8 ONNX within one logit step of the reference, float ONNX equal to torch."""
    import numpy as np

    from edgelenet import reference
    from edgelenet.model import logits_numpy
    from edgelenet.onnx_runtimes import ort_float, ort_int8
    from edgelenet.quantize import quantize_model

    torch.manual_seed(0)
    info = DataInfo(classes=tuple(f"c{i}" for i in range(classes)), input_size=(20, 36), background=9,
                    dataset={"name": "x", "fingerprint": "0" * 64})
    images = np.random.default_rng(0).integers(0, 256, (120, 20, 36), dtype=np.uint8)
    qmodel, _ = quantize_model(build_model(arch, "softmax", widths, classes, info), images[:80])
    ref = reference.predict(qmodel, images)[1]
    assert ref.shape == (120, classes)
    assert np.abs(ort_int8(qmodel).logits(images).astype(int) - ref).max() <= 1
    np.testing.assert_allclose(ort_float(qmodel).logits(images), logits_numpy(float_model_of(qmodel), images),
                               atol=1e-5)
