"""benchmarks/report.py on small synthetic result records: tables, "not run yet", the README splice, plots."""

from __future__ import annotations

import pytest

from benchmarks import report
from benchmarks.report_plots import make_plots

VERSIONS = {"python": "3.11.7", "onnxruntime": "1.31.1"}
FIRMWARE_M4 = {"arch": "modern", "core": "cortex-m4", "flash_bytes": 70000, "scratch_bytes": 2048, "stack_bytes": 900}


def accuracy_record():
    rows = [{"arch": arch, "method": method, "size": size, "seed": 0, "weights": "per-channel",
             "float_accuracy": 0.99, "int8_accuracy": 0.9876 if method == "minmax" else 0.98, "agreement": 0.995}
            for arch in ("modern", "classic") for method in ("minmax", "mse") for size in (100, 1000)]
    return {"benchmark": "accuracy", "command": ".venv/bin/python -m benchmarks.accuracy --sizes 100 1000",
            "versions": VERSIONS, "test_images": 10000, "rows": rows}


def peers_records():
    ort_rows = [{"arch": "modern", "scope": "float part", "method": m, "weights": "per-channel",
                 "float_accuracy": 0.99, "int8_accuracy": acc, "agreement": 0.999, "onnx_bytes": 73000}
                for m, acc in (("MinMax", 0.9881), ("Entropy", 0.9872))]
    ort = {"benchmark": "peers_ort", "command": ".venv/bin/python -m benchmarks.peers_ort", "versions": VERSIONS,
           "tool": "quantize_static", "settings": {"quant_format": "QDQ"}, "calibration": {"size": 1000},
           "float": {"modern": {"accuracy": 0.99, "onnx_bytes": 250000}}, "rows": ort_rows}
    tflite = {"benchmark": "peers_tflite", "command": ".venv/bin/python -m benchmarks.peers_tflite",
              "versions": VERSIONS, "peers_versions": {"tensorflow-cpu": "2.21.0"}, "arch": "modern",
              "test_images": 10000, "float_accuracy": 0.99, "int8_accuracy": 0.9885, "agreement": 0.998,
              "tflite_bytes": 71952, "arena_bytes": 10096, "arena_method": "binary search",
              "arena_print_allocations": {"total": 10096, "head": 5888, "tail": 4208},
              "tflite_vs_tflm_identical_logits": {"BUILTIN_REF": 0.97}}
    return {"peers_ort": ort, "peers_tflite": tflite}


def test_tables_carry_the_command_versions_and_figures():
    results = {"accuracy": accuracy_record(), **peers_records()}
    text = report.render_markdown(results, [])
    assert "Command: `.venv/bin/python -m benchmarks.accuracy --sizes 100 1000`" in text
    assert "onnxruntime 1.31.1" in text and "tensorflow-cpu 2.21.0" in text
    assert "| modern | 1000 | per-channel | 99.00 % | 98.76 % (99.50 %) | 98.00 % (99.50 %) |" in text
    assert "| modern | float part | MinMax | per-channel | 99.00 % | 98.81 % | 99.90 % | 73000 |" in text
    assert "| TFLM arena bytes | 10096 |" in text
    # the comparison table picks edgelenet's default row and the best onnxruntime configuration
    assert "| edgelenet (minmax, 1000 images, per-channel) | 98.76 % | 99.50 % | — | — |" in text
    results["firmware"] = {"rows": [FIRMWARE_M4]}
    assert ("| edgelenet (minmax, 1000 images, per-channel) | 98.76 % | 99.50 % | 70000 (C engine flash on "
            "Cortex-M4, firmware) | 3082 (scratch + input + logits, firmware; stack 900) |") in report.render_markdown(results, [])
    assert "(MinMax, per-channel), best of peers_ort | 98.81 %" in text


def test_missing_results_are_reported_as_not_run_with_their_command():
    text = report.render_markdown({}, [])
    for name, (title, command) in report.KNOWN.items():
        assert f"## {title}\n\nNot run yet: `{command}`" in text
    headline = report.render_headline({})
    assert "not run yet: `.venv/bin/python -m benchmarks.accuracy`" in headline
    assert "not run yet: `.venv/bin/python -m benchmarks.peers_tflite`" in headline


def test_unknown_results_render_generically_and_feed_the_headline():
    mcu = {"benchmark": "mcu", "command": ".venv/bin/python -m benchmarks.mcu", "versions": VERSIONS,
           "boards": [{"board": "mps2-an386", "instructions": 123456}],
           # a figure of the same name elsewhere must not be taken for the M4 engine's
           "peers": [{"scratch_bytes": 1, "flash_bytes": 2}],
           "headline": {"Cortex-M4 instructions per image": 123456}}
    firmware = {"rows": [dict(FIRMWARE_M4, core="cortex-m0", scratch_bytes=5), FIRMWARE_M4]}
    results = {**peers_records(), "mcu": mcu, "firmware": firmware,
               "validate": {"command": "edgelenet validate x --json", "passed": True}}
    text = report.render_markdown(results, [])
    assert "| mps2-an386 | 123456 |" in text and "| passed | yes |" in text
    assert "| edgelenet (minmax" not in text  # no accuracy record: no edgelenet comparison row
    assert "Command: `edgelenet validate x --json`" in text
    headline = report.render_headline(results)
    # like for like: the arena holds the input and output tensors, so the engine's side adds them (stack on neither)
    assert "edgelenet's Cortex-M4 stack beside) | 10096 vs 3082 (stack 900) | — |" in headline
    assert "| Cortex-M4 instructions per image (mcu) | 123456 | — |" in headline
    per_arch = report.render_headline({"mcu": {"headline": {"M4 per MAC": {"modern": 1.2, "classic": 2.3}}}})
    assert "| M4 per MAC (mcu) | 1.2 | 2.3 |" in per_arch
    training = {"runs": [{"arch": "modern"}] * 2, "summary": {"modern": {
        "min_accuracy": 0.9931, "max_accuracy": 0.9944, "max_wall_seconds": 71.4, "mean_images_per_second": 16000}}}
    row = report.render_headline({"training": training})
    assert "99.31 %–99.44 % (2 seeds), 71 s, 16,000 img/s" in row and "not run yet" in row
    assert "| best peer int8 accuracy | 98.85 % (TFLite/TFLM) |" in headline


def test_readme_splice_replaces_only_the_marked_section():
    readme = f"# x\n\nintro\n\n{report.START}\nold figures\n{report.END}\n\n## rest\n"
    spliced = report.splice_readme(readme, "| a | b |")
    assert spliced == f"# x\n\nintro\n\n{report.START}\n| a | b |\n{report.END}\n\n## rest\n"
    assert report.splice_readme(spliced, "| a | b |") == spliced
    with pytest.raises(ValueError):
        report.splice_readme("# no markers\n", "| a |")


def test_plots_are_written_and_reproducible(tmp_path):
    results = {"accuracy": accuracy_record(), **peers_records()}
    first = make_plots(results, tmp_path / "a")
    second = make_plots(results, tmp_path / "b")
    assert [p.name for p in first] == ["accuracy_vs_calibration.png", "peers_accuracy.png", "memory.png"]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second))
    assert make_plots({}, tmp_path / "c") == []
