"""Import a float LeNet-5-family network trained elsewhere (ONNX or a PyTorch state dict).

readers (onnx_reader.py, state_dict.py) -> a chain of ops (ops.py) -> exact rewrites (lower.py) -> LeNet-5's
layers (match.py) -> input normalization folded into C1 (build.py) -> self-check against the unfolded chain
(reference.py) -> checkpoint.

What maps where: ReLU with max pooling -> the `modern` variant; tanh, LeNet-5's scaled tanh or sigmoid with
average pooling, each pooling followed by an activation as in the paper -> the `classic` variant (squash
and subsampling, softmax output); with no activation after either pooling (the Keras/d2l tutorial LeNet)
-> `classic` with pool activation "none" and a fully connected C3. docs/import.md has the full table.
"""

from __future__ import annotations

from pathlib import Path

from edgelenet.errors import UserError
from edgelenet.family import check_class_names
from edgelenet.importer.build import (SELF_CHECK_TOLERANCE, classic_mask_check, convert, declared_normalization,
                                      file_sha256, self_check, to_tensors, widths_of)
from edgelenet.importer.model_io import data_info, make_model


def parse_classes(text: str | None, count: int) -> tuple | None:
    """`--classes a,b,c`: the model's outputs in order (checked by family.check_class_names); None if absent."""
    if text is None:
        return None
    return check_class_names([name.strip() for name in text.split(",")], count)


def parse_input_size(text: str | None) -> tuple:
    """`--input-size 28` or `28x28` (state dicts only): 28x28 with C1 padding 2, or 32x32 without."""
    if text is None:
        return (28, 28)
    parts = text.lower().split("x")
    if not all(p.strip().isdigit() for p in parts) or len(parts) > 2:
        raise UserError(f"--input-size {text!r}: give 28 or 32 (or HxW)")
    size = tuple(int(p) for p in parts) * (2 if len(parts) == 1 else 1)
    if size not in ((28, 28), (32, 32)):
        raise UserError(f"--input-size {text}: a LeNet-5 state dict reads 28x28 (C1 padding 2) or 32x32")
    return size


def import_model(path: Path, out: Path, classes: str | None = None, mean: float | None = None,
                 std: float | None = None, scale: float | None = None, offset: float | None = None,
                 mapping: str | None = None, input_size: str | None = None, data: Path | None = None) -> dict:
    """Read FILE, write the checkpoint OUT; returns the `import` command's JSON."""
    from edgelenet.checkpoint import save_checkpoint
    from edgelenet.fileio import check_output_file, refuse_inputs

    path, out = Path(path), Path(out)
    check_output_file(out)            # a directory, device or FIFO: refused before the work
    refuse_inputs(out, [path, data])  # `import M --out M` would replace the model with its checkpoint
    pixel_to_u = declared_normalization(mean, std, scale, offset)
    result = convert(path, pixel_to_u, mapping, parse_input_size(input_size))
    state, chain = result["state"], result["chain"]
    widths, count = widths_of(state)
    info, order = data_info(count, chain.input_size, result["background"], data, parse_classes(classes, count))
    state["output.weight"], state["output.bias"] = state["output.weight"][order], state["output.bias"][order]
    model = make_model(result["arch"], widths, info, result["pool_activation"])
    classic_mask_check(result["arch"], model, state)
    model.load_state_dict(to_tensors(state))
    difference = self_check(chain, result["pixel_to_u"], model, order)
    if not difference <= SELF_CHECK_TOLERANCE:   # NaN included
        raise UserError(f"the imported model's logits differ from the file's by {difference:.2e} (relative): "
                        "this network is outside what the importer can rewrite exactly")
    s, o = result["pixel_to_u"]
    record = {"imported": {"file": path.name, "sha256": file_sha256(path), "format": chain.origin,
                           "normalization": {"scale": s, "offset": o}}}
    save_checkpoint(model, out, training=record)
    return {"checkpoint": str(out), "classes": list(info.classes), "layers": result["layers"], "arch": result["arch"],
            "pool_activation": result["pool_activation"],
            "widths": list(widths), "input_size": list(chain.input_size), "background": result["background"],
            "background_error": result["background_error"], "format": chain.origin,
            "normalization": {"scale": s, "offset": o, "in_graph": result["graph_normalization"]},
            "dataset": dict(info.dataset), "output_order": order, "self_check_relative_error": difference,
            "notes": result["notes"]}
