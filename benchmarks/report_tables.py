"""Markdown for BENCHMARKS.md: one section per results JSON, every figure read from the record.

Known benchmarks get tables shaped for their question; any other record (mcu, host_speed, validate, ...) is
rendered generically: its scalar fields as one table, each dict of scalars and each list of flat dicts as
further tables. Every section starts with the exact command from the record and the library versions.
"""

from __future__ import annotations

import json

# The `edgelenet quantize` defaults: the row that stands for "edgelenet int8" in comparisons.
DEFAULT_METHOD, DEFAULT_SIZE, DEFAULT_WEIGHTS = "minmax", 1000, "per-channel"
BOOKKEEPING = ("benchmark", "command", "machine", "versions", "peers_versions")


def pct(value) -> str:
    return f"{100 * value:.2f} %" if isinstance(value, (int, float)) else "—"


def cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, sort_keys=True) + "`"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def provenance(record: dict) -> str:
    """The command that produced the record and the versions it ran with."""
    parts = [f"Command: `{record.get('command', '?')}`"]
    for key, label in (("versions", "Versions"), ("peers_versions", "Versions in .venv-peers")):
        if record.get(key):
            parts.append(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(record[key].items())))
    machine = record.get("machine") or {}
    if machine:
        cpu = machine.get("cpu_model", "CPU model not recorded")
        vectors = ", ".join(machine.get("vector_extensions") or []) or "none recorded"
        parts.append(f"Machine: {cpu} ({machine.get('cpus', '?')} CPUs; vector extensions: {vectors}), "
                     f"{machine.get('platform', '?')}")
    if record.get("date"):
        parts.append(f"Date: {record['date']}")
    return "\n\n".join(parts)


def default_row(accuracy: dict | None, arch: str) -> dict | None:
    """The accuracy row of `edgelenet quantize`'s defaults for `arch` (first seed), if it was measured."""
    for row in (accuracy or {}).get("rows", []):
        if (row.get("arch"), row.get("method"), row.get("size"), row.get("weights")) == \
                (arch, DEFAULT_METHOD, DEFAULT_SIZE, DEFAULT_WEIGHTS):
            return row
    return None


def lookup(results: dict[str, dict], name: str, *path: str):
    """results[name][path[0]][path[1]]...: one named figure of one record, or None where it was not measured."""
    node = results.get(name)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def engine_memory(results: dict[str, dict], arch: str = "modern", core: str = "cortex-m4") -> dict | None:
    """The C engine's memory for `arch` on `core` as benchmarks/firmware.py measured it (export-c's default
    layout): flash (code + weights + tables), scratch, deepest stack, and the input field and logits buffers
    the caller owns."""
    rows = lookup(results, "firmware", "rows") or []
    row = next((r for r in rows if isinstance(r, dict) and (r.get("arch"), r.get("core")) == (arch, core)), None)
    if row is None or not all(isinstance(row.get(k), int) for k in ("flash_bytes", "scratch_bytes", "stack_bytes")):
        return None
    classes = len(lookup(results, "firmware", "classes", arch) or []) or 10
    return {"flash_bytes": row["flash_bytes"], "scratch_bytes": row["scratch_bytes"], "stack_bytes": row["stack_bytes"],
            "input_bytes": 1024, "logits_bytes": classes}


def accuracy_section(record: dict) -> str:
    rows = record.get("rows", [])
    methods = list(dict.fromkeys(r["method"] for r in rows))
    keys = sorted({(r["arch"], r["size"], r["weights"]) for r in rows}, key=lambda k: (k[0] != "modern", *k))
    body = []
    for arch, size, weights in keys:
        mine = {r["method"]: r for r in rows if (r["arch"], r["size"], r["weights"]) == (arch, size, weights)}
        body.append([arch, str(size), weights, pct(next(iter(mine.values()))["float_accuracy"])] +
                    [f"{pct(mine[m]['int8_accuracy'])} ({pct(mine[m]['agreement'])})" if m in mine else "—"
                     for m in methods])
    return (f"int8 accuracy of the integer reference engine on {record.get('test_images', '?')} test images, "
            f"and in brackets its label agreement with the float model.\n\n"
            + table(["arch", "calibration images", "weights", "float"] + methods, body))


def training_section(record: dict) -> str:
    summary = record.get("summary", {})
    head = table(["arch", "mean test accuracy", "min", "max", "target", "all meet target", "max wall s",
                  "mean images/s"],
                 [[arch, pct(s["mean_accuracy"]), pct(s["min_accuracy"]), pct(s["max_accuracy"]),
                   pct(s["target"]), s["all_meet_target"], s["max_wall_seconds"], s["mean_images_per_second"]]
                  for arch, s in sorted(summary.items())])
    runs = table(["arch", "seed", "epochs", "test accuracy", "wall s", "images/s"],
                 [[r["arch"], r["seed"], r["epochs"], pct(r["test_accuracy"]), r["wall_seconds"],
                   r["images_per_second"]] for r in record.get("runs", [])])
    return head + "\n\nEvery run:\n\n" + runs


def peers_ort_section(record: dict) -> str:
    floats = record.get("float", {})
    body = [[r["arch"], r["scope"], r["method"], r["weights"], pct(r["float_accuracy"]), pct(r["int8_accuracy"]),
             pct(r["agreement"]), r["onnx_bytes"]] for r in record.get("rows", [])]
    sizes = table(["arch", "float accuracy", "float ONNX bytes"],
                  [[arch, pct(f["accuracy"]), f["onnx_bytes"]] for arch, f in floats.items()])
    settings = ", ".join(f"{k} {v}" for k, v in record.get("settings", {}).items())
    return (f"`{record.get('tool', '?')}` ({settings}), calibrated on {record.get('calibration', {}).get('size', '?')} "
            f"training images, run by onnxruntime on {record.get('test_images', '?')} test images. "
            "\"float part\": the graph after the uint8 preprocessing, C1's input included; \"as exported\": "
            "the whole graph, where quantize_static leaves C1's input float (see benchmarks/peers_ort.py).\n\n"
            + table(["arch", "scope", "calibrator", "weights", "float", "int8", "agreement", "int8 ONNX bytes"], body)
            + "\n\n" + sizes)


def peers_tflite_section(record: dict) -> str:
    alloc = record.get("arena_print_allocations", {})
    identical = record.get("tflite_vs_tflm_identical_logits", {})
    rows = [["test images", record.get("test_images")], ["float accuracy", pct(record.get("float_accuracy"))],
            ["int8 accuracy (TFLM)", pct(record.get("int8_accuracy"))],
            ["agreement with float", pct(record.get("agreement"))], [".tflite bytes", record.get("tflite_bytes")],
            ["TFLM arena bytes", record.get("arena_bytes")], ["arena measured by", record.get("arena_method")],
            ["print_allocations() total / head / tail",
             f"{alloc.get('total')} / {alloc.get('head')} / {alloc.get('tail')}"],
            ["Keras vs PyTorch max float logit difference", record.get("keras_vs_torch_max_logit_diff")],
            ["TFLM images/s (Python, host)", record.get("tflm_images_per_second")]]
    rows += [[f"TFLite interpreter ({k}) logits identical to TFLM", pct(v)] for k, v in sorted(identical.items())]
    return f"{record.get('peer', '?')}, LeNet-5 `{record.get('arch', '?')}`.\n\n" + table(["figure", "value"], rows)


def generic_section(record: dict) -> str:
    """Any record: scalars, dicts of scalars and lists of flat dicts as tables; anything deeper as JSON."""
    parts, scalars = [], []
    for key, value in record.items():
        if key in BOOKKEEPING:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            header = list(dict.fromkeys(k for v in value for k in v))
            parts.append(f"`{key}`:\n\n" + table(header, [[v.get(k, "—") for k in header] for v in value]))
        elif isinstance(value, dict) and value:
            parts.append(f"`{key}`:\n\n" + table(["field", "value"], [[k, v] for k, v in value.items()]))
        else:
            scalars.append([key, value])
    if scalars:
        parts.insert(0, table(["field", "value"], scalars))
    return "\n\n".join(parts)


RENDERERS = {"accuracy": accuracy_section, "training": training_section, "peers_ort": peers_ort_section,
             "peers_tflite": peers_tflite_section}


def section(name: str, title: str, record: dict | None, command: str) -> str:
    if record is None:
        return f"## {title}\n\nNot run yet: `{command}`\n"
    body = RENDERERS.get(name, generic_section)(record)
    return f"## {title}\n\n{provenance(record)}\n\n{body}\n"
