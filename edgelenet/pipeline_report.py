"""The report of `edgelenet run`: report.md from the run's results, and the per-layer quantization plot."""

from __future__ import annotations

from pathlib import Path

from edgelenet.fileio import atomic_path


def plot_quantization_error(layers: list[dict], path: Path) -> Path:
    """SQNR of every layer's int8 output (and tanh input) against the float model, in dB."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["layer"] for row in layers]
    pre = [(i, row["pre_sqnr_db"]) for i, row in enumerate(layers) if "pre_sqnr_db" in row]
    offset = 0.2 if pre else 0.0  # side by side only when there are tanh inputs to show
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([i - offset for i in range(len(names))], [row["output_sqnr_db"] for row in layers], width=0.4,
           label="layer output")
    if pre:
        ax.bar([i + 0.2 for i, _ in pre], [v for _, v in pre], width=0.4, label="tanh input")
    ax.set(xticks=range(len(names)), xticklabels=names, ylabel="SQNR (dB)",
           title="int8 vs float, per layer (higher is better)")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _runtime_rows(validate: dict) -> list[str]:
    rows = []
    for name, r in validate["runtimes"].items():
        if r.get("status") != "ok":
            rows.append(f"| {name} | {r.get('status')}: {r.get('reason', '')} | | | |")
            continue
        diff = r.get("max_logit_diff")
        rows.append(f"| {name} | {_pct(r.get('accuracy'))} | {_pct(r.get('agreement'))} | "
                    f"{'—' if diff is None else diff} | {r.get('seconds', 0):.1f} s |")
    return rows


def _c_row(label: str, result: dict) -> str:
    if result.get("status") != "ok":
        return f"| {label} | {result.get('status')}: {result.get('reason', '')} |"
    text = f"{result['images']} images, logits identical to the reference: {'yes' if result['identical_to_reference'] else 'NO'}"
    if "instructions_per_inference" in result:
        text += f"; {result['instructions_per_inference']:,} instructions per inference"
    return f"| {label} | {text} |"


def _data_line(data: dict) -> str:
    """The data set measured, as markdown; user-given names are shown as code so they cannot format."""
    name = "MNIST (official test set)" if data["name"] == "mnist" else f"`{data['name'].replace('`', chr(39))}`"
    height, width = data["input_size"]
    return (f"{name}, {len(data['classes'])} classes, {height}x{width} images, test split sha256 "
            f"`{data['fingerprint'][:16]}...`")


def render_markdown(results: dict) -> str:
    q, v, c = results["quantize"], results["validate"], results["export_c"]
    train = results["train"]
    lines = [
        "# edgelenet run", "",
        f"Model: `{Path(train['checkpoint']).name}` "
        + ("(trained in this run)" if train.get("trained_in_this_run") else "(given checkpoint)"),
        f"Data: {_data_line(v['data'])}.",
        f"Validation: **{'passed' if v['passed'] else 'FAILED'}** on {v['n']:,} test images.", "",
        "## Summary", "",
        "| figure | value |", "|---|---|",
        f"| float accuracy (torch) | {_pct(q['float_accuracy'])} |",
        f"| int8 accuracy (integer reference) | {_pct(q['int8_accuracy'])} |",
        f"| int8 / float label agreement | {_pct(q['agreement'])} |",
        f"| flash (code + weights, {c.get('flash_note', '')}) | {c['flash_bytes']:,} bytes |",
        f"| scratch RAM | {c['scratch_bytes']:,} bytes |",
        _c_row("C engine on the host", results["c_host"]),
        _c_row(f"C engine on {results['c_target']['core']} (QEMU {results['c_target']['board']})", results["c_target"]),
        "", "## Runtimes", "",
        "| runtime | accuracy | agreement with reference | max int8 logit difference | time |",
        "|---|---|---|---|---|", *_runtime_rows(v),
        "", "## Plots", "",
    ]
    for png in ("training.png", "train/training.png", f"confusion_{Path(train['checkpoint']).stem}.png",
                "quantization_error.png"):
        if png in results["files"]:
            lines.append(f"![{png}]({png})")
    lines += ["", "## Files", "", *[f"- `{name}`" for name in results["files"]], ""]
    return "\n".join(lines)
