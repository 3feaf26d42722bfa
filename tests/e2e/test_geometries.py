"""One integer resampling (edgelenet/resample.py), four implementations, bit for bit: the numpy reference,
the ONNX graph in onnxruntime and in tinygrad, and the generated C `<prefix>_prepare_input`; then whole
models of other geometries and class counts run bit-exactly in C against the reference."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgelenet import reference
from edgelenet.family import DataInfo
from edgelenet.onnx_export import IR_VERSION, OPSET, _field, _Graph
from edgelenet.resample import plan, to_field
from firmware_export import build
from firmware_export.c_runtimes import CRuntime, export_with_driver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402

GEOMETRIES = [((8, 8), 0), ((28, 28), 0), ((32, 32), 0), ((64, 48), 0), ((25, 25), 255), ((33, 5), 17),
              ((100, 100), 3), ((1, 1), 0)]


def _images(size, count=6) -> np.ndarray:
    rng = np.random.default_rng(size[0] * 1000 + size[1])
    images = rng.integers(0, 256, (count, *size), dtype=np.uint8)
    images[0], images[1] = 0, 255   # the extremes: the rounding of block means at both ends
    return images


def _data(size, background) -> DataInfo:
    return DataInfo(input_size=size, background=background, dataset={"name": "t", "fingerprint": "0" * 64})


def _field_model(data: DataInfo) -> bytes:
    g = _Graph()
    out = _field(g, data)
    g.nodes.append(helper.make_node("Identity", [out], ["field"], name="output"))
    graph = helper.make_graph(g.nodes, "field", [helper.make_tensor_value_info("pixels", TensorProto.UINT8,
                                                                               ["N", 1, *data.input_size])],
                              [helper.make_tensor_value_info("field", TensorProto.UINT8, ["N", 1, 32, 32])],
                              initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


@pytest.mark.parametrize("size,background", GEOMETRIES)
def test_onnx_field_is_the_reference_field(size, background):
    import onnxruntime as ort
    from tinygrad import Tensor
    from tinygrad.nn.onnx import OnnxRunner

    data, images = _data(size, background), _images(size)
    expected = to_field(images, size, background)
    model = _field_model(data)
    got = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"pixels": images[:, None]})[0]
    np.testing.assert_array_equal(got[:, 0], expected)
    got = OnnxRunner(Tensor(model))({"pixels": Tensor(images[:, None])})["field"].numpy()
    np.testing.assert_array_equal(got[:, 0], expected)
    ref = reference.prepare_input(images, size, background)[:, 0]
    np.testing.assert_array_equal(ref, (expected.astype(np.int16) - 128).astype(np.int8))


def test_field_layout_of_the_documented_examples():
    assert (plan((8, 8)).up, plan((8, 8)).out_h, plan((8, 8)).top) == (3, 24, 4)
    assert (plan((64, 48)).down, plan((64, 48)).out_w, plan((64, 48)).left) == (2, 24, 4)
    mnist = np.arange(784, dtype=np.int64).reshape(1, 28, 28).astype(np.uint8)
    np.testing.assert_array_equal(to_field(mnist, (28, 28), 0)[0], np.pad(mnist[0], 2))


HARNESS = """
#include <stdio.h>
#include "lenet5.h"
int main(void)
{
    static uint8_t pixels[LENET5_INPUT_HEIGHT * LENET5_INPUT_WIDTH];
    int8_t input[LENET5_INPUT_LEN];
    int i;
    while (fread(pixels, 1, sizeof pixels, stdin) == sizeof pixels) {
        lenet5_prepare_input(pixels, input);
        fwrite(input, 1, sizeof input, stdout);
    }
    for (i = 0; i < LENET5_NUM_CLASSES; ++i) {
        fprintf(stderr, "%s\\n", lenet5_class_names[i]);
    }
    return 0;
}
"""


@pytest.mark.parametrize("size,background", GEOMETRIES)
def test_c_prepare_input_is_the_reference_field(host_cc, tmp_path, size, background):
    import subprocess

    model = dataclasses.replace(synthetic_model("modern"), data=_data(size, background))
    sources = export_with_driver(model, tmp_path / "out")
    (tmp_path / "harness.c").write_text(HARNESS)
    exe = tmp_path / "prepare"
    build.compile_host([s for s in sources if s.name != "batch.c"] + [tmp_path / "harness.c"], exe,
                       build.STRICT + ["-O1", f"-I{tmp_path / 'out'}"], host_cc)
    images = _images(size)
    done = subprocess.run([str(exe)], input=images.tobytes(), capture_output=True, check=True)
    got = np.frombuffer(done.stdout, np.int8).reshape(len(images), 32, 32)
    np.testing.assert_array_equal(got, reference.prepare_input(images, size, background)[:, 0])


HOSTILE = ("a\"b", "back\\slash", "tri??=graph", "*/ #include <x>", "new\u00e9", "it's %s %d")


def test_class_names_reach_c_as_escaped_literals(host_cc, tmp_path):
    import subprocess

    classes = HOSTILE + tuple(f"c{i}" for i in range(4))
    base = synthetic_model("modern")
    data = DataInfo(classes=classes, dataset={"name": "t", "fingerprint": "0" * 64})
    model = _with_classes(base, data)
    sources = export_with_driver(model, tmp_path / "out")
    (tmp_path / "harness.c").write_text(HARNESS)
    exe = tmp_path / "names"
    build.compile_host([s for s in sources if s.name != "batch.c"] + [tmp_path / "harness.c"], exe,
                       build.STRICT + ["-O1", f"-I{tmp_path / 'out'}"], host_cc)
    done = subprocess.run([str(exe)], input=b"", capture_output=True, check=True)
    assert done.stderr.decode("utf-8").split("\n")[:-1] == [n for n in classes]


def _with_classes(model, data: DataInfo):
    """The synthetic model with an OUTPUT layer of len(data.classes) units (rows repeated)."""
    out = model.layers[-1]
    count = data.num_classes
    index = np.arange(count) % len(out.weights)
    layer = dataclasses.replace(out, out_shape=[count], weights=out.weights[index], bias=out.bias[index],
                                weight_scales=out.weight_scales[index], multiplier=out.multiplier[index],
                                shift=out.shift[index])
    return dataclasses.replace(model, layers=model.layers[:-1] + [layer], data=data)


@pytest.mark.parametrize("size,background,classes", [((8, 8), 0, 3), ((64, 48), 40, 2), ((32, 32), 0, 12)])
def test_c_engine_bit_exact_for_other_geometries_and_classes(host_cc, size, background, classes):
    data = dataclasses.replace(_data(size, background), classes=tuple(f"k{i}" for i in range(classes)))
    model = _with_classes(synthetic_model("modern"), data)
    images = _images(size, 40)
    expected = reference.predict(model, images)[1]
    assert expected.shape == (40, classes)
    np.testing.assert_array_equal(CRuntime(model).logits(images), expected)
