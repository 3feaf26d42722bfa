"""PNG plots for BENCHMARKS.md, drawn from the results records only; a plot whose data is missing is skipped.

PNGs are written without the matplotlib version and date in their metadata, so the same JSON gives the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; also keeps rendering independent of the machine's backend
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.report_tables import default_row, engine_memory  # noqa: E402

ARCHS = ("modern", "classic")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def accuracy_vs_size(accuracy: dict, path: Path) -> Path | None:
    """int8 accuracy against calibration size, one line per method (per-channel, mean over seeds)."""
    rows = [r for r in accuracy.get("rows", []) if r.get("weights") == "per-channel"]
    archs = [a for a in ARCHS if any(r["arch"] == a for r in rows)]
    if not archs:
        return None
    fig, axes = plt.subplots(1, len(archs), figsize=(5.5 * len(archs), 4), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        mine = [r for r in rows if r["arch"] == arch]
        for method in dict.fromkeys(r["method"] for r in mine):
            sizes = sorted({r["size"] for r in mine if r["method"] == method})
            means = [100 * sum(r["int8_accuracy"] for r in mine if (r["method"], r["size"]) == (method, s))
                     / sum(1 for r in mine if (r["method"], r["size"]) == (method, s)) for s in sizes]
            ax.plot(sizes, means, marker="o", label=method)
        ax.axhline(100 * mine[0]["float_accuracy"], color="black", linestyle="--", label="float")
        ax.set_xscale("log")
        ax.set_title(f"LeNet-5 {arch}: int8 reference engine")
        ax.set_xlabel("calibration images")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=8)
    return _save(fig, path)


def peers_accuracy(results: dict, path: Path) -> Path | None:
    """int8 accuracy of edgelenet's default quantization next to every peer configuration, per variant."""
    bars = {arch: [] for arch in ARCHS}
    for arch in ARCHS:
        ours = default_row(results.get("accuracy"), arch)
        if ours:
            bars[arch].append(("edgelenet (default)", ours["int8_accuracy"], ours["float_accuracy"]))
        for r in results.get("peers_ort", {}).get("rows", []):
            if r["arch"] == arch:
                bars[arch].append((f"ORT {r['method']} {r['weights']} ({r['scope']})", r["int8_accuracy"],
                                   r["float_accuracy"]))
        tflm = results.get("peers_tflite")
        if tflm and tflm.get("arch") == arch:
            bars[arch].append(("TFLite int8 in TFLM", tflm["int8_accuracy"], tflm["float_accuracy"]))
    archs = [a for a in ARCHS if bars[a]]
    if not archs:
        return None
    height = max(len(bars[a]) for a in archs)
    fig, axes = plt.subplots(1, len(archs), figsize=(7 * len(archs), 1 + 0.4 * height), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        labels, values, floats = zip(*bars[arch])
        ax.barh(range(len(values)), [100 * v for v in values], color="tab:blue")
        ax.set_yticks(range(len(values)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(100 * floats[0], color="black", linestyle="--", label="float")
        low = 100 * min(min(values), floats[0])
        ax.set_xlim(low - 0.2, 100 * max(max(values), floats[0]) + 0.1)
        ax.set_xlabel("int8 test accuracy (%)")
        ax.set_title(f"LeNet-5 {arch}: int8 accuracy by tool")
        ax.legend(fontsize=8)
    return _save(fig, path)


def memory(results: dict, path: Path) -> Path | None:
    """RAM and model storage in bytes, for whichever of edgelenet and the peers have been measured."""
    tflm, ort = results.get("peers_tflite"), results.get("peers_ort")
    items = []
    engine = engine_memory(results)
    if engine:
        items.append(("RAM: edgelenet scratch + input + logits",
                      engine["scratch_bytes"] + engine["input_bytes"] + engine["logits_bytes"]))
    if tflm:
        items.append(("RAM: TFLM arena (tensors incl. input/output)", tflm["arena_bytes"]))
    if engine:
        items.append(("model: edgelenet C engine flash (M4)", engine["flash_bytes"]))
    if tflm:
        items.append(("model: .tflite", tflm["tflite_bytes"]))
    if ort:
        sizes = [r["onnx_bytes"] for r in ort.get("rows", []) if r["arch"] == "modern" and r["scope"] == "float part"]
        if sizes:
            items.append(("model: ORT QDQ ONNX (smallest)", min(sizes)))
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(7, 1 + 0.45 * len(items)))
    labels, values = zip(*items)
    ax.barh(range(len(values)), values, color=["tab:green" if "edgelenet" in l else "tab:gray" for l in labels])
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    ax.set_xlabel("bytes")
    ax.set_title("LeNet-5 modern int8: memory")
    return _save(fig, path)


def make_plots(results: dict, directory: Path) -> list[Path]:
    made = [accuracy_vs_size(results["accuracy"], directory / "accuracy_vs_calibration.png")
            if "accuracy" in results else None,
            peers_accuracy(results, directory / "peers_accuracy.png"),
            memory(results, directory / "memory.png")]
    return [p for p in made if p is not None]
