"""export-c without a compiler: names, banners, determinism, scratch plan, report, errors, atomic output."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import edgelenet
from edgelenet.cli import app
from edgelenet import fileio
from edgelenet.errors import UserError
from edgelenet.model import build_model
from edgelenet.summary import summary_dict
from firmware_export import build, export_c, write_files
from firmware_export.layout import fold_bias, folded_rounding, maxpool_folded, output_stage, plan_steps
from firmware_export.render import ROUNDING, render, validate_prefix

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402

runner = CliRunner()


def _code(text: str) -> str:
    """C text without comments."""
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


@pytest.mark.parametrize("prefix", ["lenet5", "digits", "_model2", "Net"])
def test_valid_prefixes_are_accepted(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "9lives", "my-net", "a b", "int", "static", "_Bool", "while", "eln_x", "__x",
                                    "_Model", "lenet5\n"])
def test_bad_prefix_is_error(prefix):
    with pytest.raises(UserError):
        validate_prefix(prefix)


def test_every_file_starts_with_banner(int8_model):
    for name, text in render(int8_model).files.items():
        head = "\n".join(text.splitlines()[:5])
        assert edgelenet.__version__ in head and int8_model.checksum in head and ROUNDING in head, name
        assert text.startswith("/* " if not name.endswith(("Makefile", "CMakeLists.txt")) else "# ")


def test_render_is_deterministic_without_paths_or_times():
    model = synthetic_model("classic")
    first, second = render(model).files, render(synthetic_model("classic")).files
    assert first == second
    text = "".join(first.values())
    assert os.getcwd() not in text and "/tmp" not in text and not re.search(r"20\d\d-\d\d-\d\d", text)


def test_prefix_renames_files_symbols_and_macros():
    files = render(synthetic_model("modern"), "digits").files
    assert {"digits.h", "digits.c", "digits_weights.h", "example/main.c"} <= set(files)
    assert "lenet5" not in "".join(files.values()).lower()
    header = files["digits.h"]
    for declaration in ("#define DIGITS_INPUT_LEN      1024", "#define DIGITS_NUM_CLASSES    10",
                        "#define DIGITS_INPUT_HEIGHT   28", "#define DIGITS_INPUT_WIDTH    28",
                        "extern const char *const digits_class_names[DIGITS_NUM_CLASSES];",
                        "#define DIGITS_SCRATCH_BYTES", 'extern "C"',
                        "void digits_prepare_input(const uint8_t pixels[DIGITS_INPUT_HEIGHT * DIGITS_INPUT_WIDTH],\n"
                        "                             int8_t input[DIGITS_INPUT_LEN]);",
                        "int digits_infer(const int8_t input[DIGITS_INPUT_LEN], int8_t logits[DIGITS_NUM_CLASSES], "
                        "void *scratch);"):
        assert declaration in header
    assert "static const int16_t digits_c1_weights[" in files["digits_weights.h"]


def test_engine_is_integer_only_without_malloc(int8_model):
    files = render(int8_model).files
    code = _code(files["lenet5.c"] + files["lenet5_weights.h"])
    for word in ("float", "double", "malloc", "math.h", "free("):
        assert word not in code


def test_scratch_is_the_pooled_maps_floor(int8_model):
    rendered = render(int8_model)
    assert rendered.scratch_bytes == 14 * 14 * 6 + 5 * 5 * 16 == 1576
    assert "#define LENET5_SCRATCH_BYTES  1576" in rendered.files["lenet5.h"]


def test_macs_per_layer_match_summary(int8_model):
    rendered = render(int8_model)
    macs = {layer.name: m for step in rendered.steps for layer, m in zip(step.layers, step.macs)}
    table = summary_dict(build_model(int8_model.arch, int8_model.head))
    assert macs == {row["name"]: row["macs"] for row in table["layers"] if row["macs"]}
    assert sum(macs.values()) == {"modern": 416_520, "classic": 332_824}[int8_model.arch]


def test_folded_bias_equals_reference_accumulator(modern_int8, rng):
    """bias' + sum x*w == bias + sum (x - z) * w for any int8 x."""
    layer = modern_int8.layer("C5")
    x = rng.integers(-128, 128, size=400).astype(np.int64)
    w = layer.weights.astype(np.int64)
    reference_acc = layer.bias + (x - layer.input.zero_point) @ w.T
    np.testing.assert_array_equal(fold_bias(layer) + x @ w.T, reference_acc)


def test_folded_maxpool_epilogue_equals_requantize_and_clamp(modern_int8, rng):
    """The DSP max-pooling epilogue (eln_conv_window.h, eln_dsp_folded):
    SSAT8(floor((floor(x * m / 2^32) + round') / 2^k)), round' = 2^(k-1) + z_out * 2^k, k = n - 32, equals
    clamp(requantize(x) + z_out, act_min, 127) for every |x| <= acc_bound, with SMMLA's int32 sum in range."""
    steps = plan_steps(modern_int8)
    assert maxpool_folded(steps)
    for step in (s for s in steps if s.kind == "conv_maxpool"):
        layer, stage = step.layers[0], output_stage(step.layers[0])
        assert (stage.zero_point, stage.act_min) == (-128, -128)  # ReLU: [0, hi]
        rounding = folded_rounding(layer, step.acc_bound)
        bound = step.acc_bound
        xs = [int(v) for v in rng.integers(-bound, bound + 1, 3000)] + [-bound, -1, 0, 1, bound]
        for c in range(len(layer.weights)):
            m, n, r = int(layer.multiplier[c]), int(layer.shift[c]), int(rounding[c])
            xs_c = xs + [((j << (n - 1)) + d) // m for j in range(-3, 400) for d in (-1, 0, m - 1)]  # near ties
            for x in (v for v in xs_c if abs(v) <= bound):
                spec = min(max(((x * m + (1 << (n - 1))) >> n) + stage.zero_point, stage.act_min), 127)
                high = (x * m >> 32) + r
                assert -(1 << 31) <= high < 1 << 31
                assert min(max(high >> (n - 32), -128), 127) == spec


def test_folded_maxpool_epilogue_falls_back():
    """A zero point other than act_min's -128 (ReLU with z_out != -128) keeps the generic epilogue."""
    model = synthetic_model("modern")
    assert maxpool_folded(plan_steps(model))
    assert "#define ELN_CONV_MAXPOOL_FOLDED" in render(model).files["lenet5.c"]
    model.layers[1].output = dataclasses.replace(model.layers[1].output, zero_point=-100)
    assert not maxpool_folded(plan_steps(model))
    assert "#define ELN_CONV_MAXPOOL_FOLDED" not in render(model).files["lenet5.c"]
    assert not maxpool_folded(plan_steps(synthetic_model("classic")))


def test_export_refuses_a_layer_whose_accumulator_could_overflow():
    """A bias near 2^31 makes the proved bound exceed int32: export-c refuses instead of emitting C that
    could overflow (the bound itself is checked by enumeration in test_accumulator_bounds.py)."""
    model = synthetic_model("modern")
    plan_steps(model)
    model.layers[-1].bias = model.layers[-1].bias.copy()
    model.layers[-1].bias[3] = 2**31 - 1000
    with pytest.raises(UserError, match="OUTPUT: accumulator bound .* does not fit int32"):
        plan_steps(model)


def test_unsupported_layer_sequence_is_error():
    model = synthetic_model("modern")
    model.layers[0].activation, model.layers[0].pre = "tanh", model.layers[2].pre
    with pytest.raises(UserError, match="max pooling after tanh"):
        render(model)


def test_report_without_arm_toolchain_counts_weights_only(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "have_arm", lambda: False)
    result = export_c(synthetic_model("modern"), tmp_path / "out")
    assert result["code_bytes"] is None and "weights only" in result["flash_note"]
    assert result["flash_bytes"] == result["weights_bytes"] > 0
    saved = json.loads((tmp_path / "out" / "example" / "report.json").read_text())
    assert saved["scratch_bytes"] == result["scratch_bytes"] and "out" not in saved


def test_export_twice_gives_identical_bytes(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "have_arm", lambda: False)
    for name in ("a", "b"):
        export_c(synthetic_model("classic"), tmp_path / name)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_failed_write_leaves_nothing_half_written(monkeypatch, tmp_path):
    files = render(synthetic_model("modern")).files
    out = tmp_path / "out"
    out.mkdir()
    (out / "lenet5.h").write_text("previous")
    calls = []

    def failing_exchange(src, dst):
        calls.append(dst)
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(fileio, "exchange", failing_exchange)
    with pytest.raises(UserError, match="no space left"):
        write_files(files, out)
    assert calls and (out / "lenet5.h").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the staging directory is gone


def test_cli_export_c_json(artifact_path, tmp_path):
    result = runner.invoke(app, ["export-c", str(artifact_path), "--out", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"files", "flash_bytes", "scratch_bytes", "stack_bytes", "macs", "weights_bytes", "code_bytes"} <= set(report)
    assert report["scratch_bytes"] == 1576 and report["total_macs"] == 416_520
    assert all(Path(f).is_file() for f in report["files"])


@pytest.mark.parametrize("args, message", [
    (["--prefix", "9a"], "not a C identifier"),
    (["--prefix", "return"], "C keyword"),
])
def test_cli_bad_prefix_exits_2_and_writes_nothing(artifact_path, tmp_path, args, message):
    result = runner.invoke(app, ["export-c", str(artifact_path), "--out", str(tmp_path / "c"), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "c").exists()


def test_cli_artifact_of_another_format_exits_2(tmp_path):
    from safetensors.numpy import save_file

    fake = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3, np.float32)}, str(fake), metadata={"edgelenet": json.dumps({"format": "other"})})
    result = runner.invoke(app, ["export-c", str(fake), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "not an edgelenet int8 artifact" in result.stderr
    assert not (tmp_path / "c").exists()


def test_cli_newer_artifact_version_exits_2(artifact_path, tmp_path):
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(artifact_path), framework="numpy") as handle:
        metadata = dict(handle.metadata())
    info = json.loads(metadata["edgelenet"])
    info["version"] = 99
    metadata["edgelenet"] = json.dumps(info)
    newer = tmp_path / "newer.safetensors"
    save_file(load_file(str(artifact_path)), str(newer), metadata=metadata)
    result = runner.invoke(app, ["export-c", str(newer), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "version" in result.stderr and not (tmp_path / "c").exists()


def test_cli_unwritable_output_exits_2(artifact_path, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, ["export-c", str(artifact_path), "--out", str(blocker / "c")])
    assert result.exit_code == 2 and "error" in result.stderr
    result = runner.invoke(app, ["export-c", str(artifact_path), "--out", str(blocker)])
    assert result.exit_code == 2 and "not a directory" in result.stderr


def test_second_model_in_the_same_folder_is_refused(tmp_path):
    """Two prefixes in one --out would share OUT/example/: refused, the first export left intact."""
    model = synthetic_model("modern")
    export_c(model, tmp_path / "out", "first", measure_flash=False)
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="already holds the export of --prefix first"):
        export_c(model, tmp_path / "out", "second", measure_flash=False)
    assert {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()} == before
    export_c(model, tmp_path / "out", "first", measure_flash=False)  # the same prefix replaces its own export


def test_foreign_example_folder_is_refused(tmp_path):
    (tmp_path / "out" / "example").mkdir(parents=True)
    (tmp_path / "out" / "example" / "main.c").write_text("int main(void) { return 0; }\n")
    with pytest.raises(UserError, match="not written by export-c"):
        export_c(synthetic_model("modern"), tmp_path / "out", measure_flash=False)
