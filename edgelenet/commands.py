"""What the CLI commands do, one function each, so the CLI stays a thin layer of options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from edgelenet.datasets import check_model_fits, imbalance_note, load_dataset
from edgelenet.errors import UserError
from edgelenet.fileio import ensure_dir
from edgelenet.schema import read_metadata, resolve_model_path

# torch (through edgelenet.checkpoint and edgelenet.model) is imported inside the commands that need a float
# model: export-c, which firmware builds run on every build, never pays for it.


STATE_FILE = "train_state.pt"


def train_and_test(arch: str, head: str, epochs: int | None, seed: int, out: Path, limit: int | None,
                   data_path: Path | None, console: Console, resume: bool = False, options: dict | None = None) -> dict:
    """Train on MNIST or --data; `options`: widths, lr, batch_size, augment, valid_fraction, pool_activation
    (None: defaults)."""
    from edgelenet.summary import summary_dict
    from edgelenet.train import TrainConfig, accuracy, train, write_outputs

    options = {k: v for k, v in (options or {}).items() if v is not None}
    valid_fraction = options.pop("valid_fraction", None)
    if "lr" in options:
        options["max_lr"] = options.pop("lr")
    data = load_dataset(data_path, need_train=True, valid_fraction=valid_fraction)
    if data_path is not None:
        options.setdefault("augment", "light")   # digit-style rotation is wrong for many products; see --augment
        options.setdefault("batch_size", small_set_batch(len(data.train)))
    cfg = TrainConfig(arch=arch, head=head, seed=seed, train_limit=limit, **options)
    if epochs is not None:
        cfg.epochs = epochs
    cfg.validate()
    ensure_dir(out)
    warnings = [note for note in [imbalance_note(data.train, data.classes)] if note]
    for note in warnings:
        console.print(f"[yellow]warning:[/yellow] {note}")
    result = train(cfg, data, console, state_path=Path(out) / STATE_FILE, resume=resume,
                   data_info=data.info() if data_path is not None else None)
    metrics = write_outputs(cfg, result, out, accuracy(result.model, data.test))
    table = summary_dict(result.model)
    return {**metrics, "widths": list(cfg.widths), "classes": list(data.classes), "data": data.describe(),
            "n_train": len(data.train), "n_valid": len(data.valid), "warnings": warnings,
            "total_params": table["total_params"], "total_macs": table["total_macs"],
            "int8_weight_bytes": table["int8_weight_bytes"]}


def small_set_batch(count: int) -> int:
    """Default batch size with --data: a tenth of the training images, within 16..128, so that a small set
    still takes several optimizer steps per epoch (MNIST: 128)."""
    return min(128, max(16, count // 10))


def _measured_on(model_data, data_path: Path | None, what: str):
    """The test data a command measures `what` on; refuses data the model was not made for."""
    data = load_dataset(data_path)
    check_model_fits(model_data, data, data_path is not None, what)
    return data


def evaluate_model(model_spec: str, out: Path, data_path: Path | None) -> dict:
    from edgelenet.checkpoint import load_checkpoint
    from edgelenet.evaluate import accuracy_report, plot_confusion
    from edgelenet.model import logits_numpy

    model, _ = load_checkpoint(model_spec)
    data = _measured_on(model.data, data_path, str(model_spec))
    ensure_dir(out)
    test = data.test
    predictions = logits_numpy(model, test.images).argmax(1)
    report = accuracy_report(test.labels, predictions, len(data.classes))
    name = Path(str(model_spec)).stem
    report["confusion_png"] = str(plot_confusion(np.array(report["confusion_matrix"]), out / f"confusion_{name}.png",
                                                 f"{name}: {report['accuracy']:.2%} on {report['n']:,} test images "
                                                 f"({data.name})", data.classes))
    return {**report, "classes": list(data.classes), "data": data.describe()}


def calibration_images(data, calib_data: Path | None, size: int, seed: int) -> tuple[np.ndarray, dict]:
    from calibration.selection import select_calibration_set
    from edgelenet.calibration_data import load_calibration_images

    if calib_data is not None:
        images = load_calibration_images(calib_data, size, seed)
        return images, {"source": Path(calib_data).name, "seed": seed}
    if data.train is None or not len(data.train):
        raise UserError(f"the data set {data.name!r} has no training images to calibrate on: pass --calib-data PATH")
    source = "mnist-train" if data.name == "mnist" else f"{data.name}-train"
    return select_calibration_set(data.train, min(size, len(data.train)), seed), {"source": source, "seed": seed}


def quantize_checkpoint(model_spec: str, out: Path | None, method: str, size: int, calib_data: Path | None,
                        per_tensor: bool, seed: int, data_path: Path | None) -> dict:
    """Quantize, report per layer, measure float vs int8 on the test split, write the artifact."""
    from calibration.observers import make_observer
    from calibration.selection import check_size
    from edgelenet import reference
    from edgelenet.artifact import save_artifact
    from edgelenet.checkpoint import load_checkpoint
    from edgelenet.fileio import check_output_file, refuse_inputs
    from edgelenet.model import logits_numpy
    from edgelenet.qreport import layer_report
    from edgelenet.quantize import quantize_model

    make_observer(method)
    check_size(size)
    model, _ = load_checkpoint(model_spec)
    out = Path(out) if out is not None else Path("runs") / f"{Path(str(model_spec)).stem}-int8.safetensors"
    check_output_file(out)   # before the computation, not after it
    refuse_inputs(out, [resolve_model_path(model_spec), calib_data])
    data = _measured_on(model.data, data_path, str(model_spec))
    ensure_dir(out.parent)
    images, info = calibration_images(data, calib_data, size, seed)
    h, w = model.data.input_size
    if images.shape[1:] != (h, w):
        raise UserError(f"calibration images are {images.shape[2]}x{images.shape[1]}, the model takes {w}x{h}")
    qmodel, notes = quantize_model(model, images, method, per_tensor, info)
    float_pred = logits_numpy(model, data.test.images).argmax(1)
    int8_pred, _ = reference.predict(qmodel, data.test.images)
    qmodel.report = {
        "float_accuracy": float(np.mean(float_pred == data.test.labels)),
        "int8_accuracy": float(np.mean(int8_pred == data.test.labels)),
        "agreement": float(np.mean(float_pred == int8_pred)),
        "n": int(len(data.test)),
        "layers": layer_report(qmodel, images[:500]),
        "warnings": notes,
    }
    if data.name != "mnist":
        qmodel.report["data"] = data.describe()
    save_artifact(qmodel, out)
    return {"artifact": str(out), **qmodel.report, "calibration": qmodel.calibration, "checksum": qmodel.checksum,
            "classes": list(data.classes), "data": data.describe()}


def load_any_model(model_spec: str):
    """An int8 artifact (QuantizedModel) or a float checkpoint (LeNet5), told apart by their metadata."""
    from edgelenet.checkpoint import load_checkpoint
    from edgelenet.artifact import load_artifact
    path = resolve_model_path(model_spec)
    if path.is_file() and read_metadata(path).get("format") == "edgelenet-int8":
        return load_artifact(path)
    return load_checkpoint(model_spec)[0]


# predict --backend -> runtime name for an int8 artifact (runtime names themselves are accepted too)
PREDICT_BACKENDS = {"onnxruntime": "ort-int8", "tinygrad": "tinygrad-int8"}


def predict_images(model_spec: str, images: list[Path], backend: str | None) -> dict:
    from edgelenet.artifact import QuantizedModel
    from edgelenet.data import load_images
    from edgelenet.onnx_runtimes import checkpoint_runtime
    from edgelenet.runtime_api import RuntimeUnavailable
    from edgelenet.runtime_registry import TorchFloat, build_runtime

    refuse_onnx(model_spec)
    model = load_any_model(model_spec)
    pixels = load_images(images)
    info = model.data
    if pixels.shape[1:] != tuple(info.input_size):
        raise UserError(f"the images are {pixels.shape[2]}x{pixels.shape[1]} but {model_spec} takes "
                        f"{info.input_size[1]}x{info.input_size[0]} images")
    try:
        if isinstance(model, QuantizedModel):
            runtime = build_runtime(PREDICT_BACKENDS.get(backend, backend) if backend else "reference", model)
        elif backend in (None, "torch"):
            runtime = TorchFloat(model)
        elif backend in ("onnxruntime", "tinygrad"):
            runtime = checkpoint_runtime(backend, model)
        else:
            raise UserError(f"{model_spec} is a float checkpoint: backend {backend!r} needs an int8 artifact "
                            f"(run `edgelenet quantize` first), or use --backend torch, onnxruntime or tinygrad")
        logits = runtime.logits(pixels)
    except RuntimeUnavailable as exc:
        raise UserError(f"backend {backend!r} cannot run here: {exc}") from None
    predictions = [int(i) for i in logits.argmax(1)]
    return {"backend": runtime.name, "predictions": predictions, "labels": [info.classes[i] for i in predictions],
            "logits": logits.tolist(), "n": int(len(pixels)), "classes": list(info.classes)}


def refuse_onnx(spec: str | Path) -> None:
    """ONNX files are outputs of export-onnx; a clear error beats a safetensors parse failure."""
    if Path(str(spec)).suffix.lower() == ".onnx":
        raise UserError(f"{spec} is an ONNX model: edgelenet reads the artifact or checkpoint it was exported from")


def export_onnx(model_spec: str, out: Path) -> dict:
    """The float ONNX model, and for an artifact also the int8 one (edgelenet/onnx_export.py, docs/onnx.md).
    An artifact is exported from its own tensors without torch; a checkpoint needs torch to load."""
    from edgelenet.artifact import load_artifact
    from edgelenet.onnx_export import OPSET, artifact_float_proto, checkpoint_float_proto, export_models

    refuse_onnx(model_spec)
    source = resolve_model_path(model_spec)
    if source.is_file() and read_metadata(source).get("format") == "edgelenet-int8":
        model = load_artifact(source)
        files = export_models(artifact_float_proto(model, source.name), model, source, Path(out))
        variants = ["float", "int8"]
    else:
        model = load_any_model(model_spec)
        checksum = str(read_metadata(source).get("sha256", ""))
        files = export_models(checkpoint_float_proto(model, source.name, checksum), None, source, Path(out))
        variants = ["float"]
    return {"files": [str(f) for f in files], "opset": OPSET, "source": source.name, "variants": variants}


def export_c(artifact: Path, out: Path, prefix: str, optimize: str = "size") -> dict:
    """The C engine, weight header, example and memory report for an int8 artifact (firmware_export).
    optimize: "size" (int8 weights everywhere) or "speed" (16-bit full-layer weights on the DSP path)."""
    from edgelenet.artifact import load_artifact
    from firmware_export import export_c as export_engine
    from firmware_export.render import validate_prefix

    from edgelenet.fileio import refuse_inputs

    validate_prefix(prefix)
    refuse_inputs(Path(out), [artifact], directory=True)   # OUT is replaced as a whole
    if optimize not in ("size", "speed"):
        raise UserError(f"--optimize {optimize!r}: expected size or speed")
    return export_engine(load_artifact(artifact), Path(out), prefix, optimize=optimize)


def validate_artifact(artifact: Path, runtimes: str | None, junit: Path | None, limit: int | None, thresholds,
                      data_path: Path | None, console: Console) -> dict:
    """Parity of every runtime on the test split (edgelenet/parity.py); writes JUnit XML if asked."""
    from edgelenet.artifact import load_artifact
    from edgelenet.fileio import check_output_file, refuse_inputs, write_bytes_atomic
    from edgelenet.parity import junit_xml, run_parity, select_runtimes

    names = None if runtimes is None else [name.strip() for name in runtimes.split(",") if name.strip()]
    if names is not None and not names:
        raise UserError("--runtimes is empty: name at least one runtime, or leave it out to run all")
    select_runtimes(names)
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    check_thresholds(thresholds)
    refuse_onnx(artifact)
    if junit is not None:
        check_output_file(Path(junit))
        refuse_inputs(Path(junit), [artifact])
    model = load_artifact(artifact)
    data = _measured_on(model.data, data_path, str(artifact))
    test = data.test.subset(limit)
    if len(test) == 0:
        raise UserError("the test set holds no images: nothing to validate")
    report = run_parity(model, test.images, test.labels, names, thresholds, console)
    report = {"artifact": str(artifact), **report, "classes": list(data.classes), "data": data.describe()}
    if junit is not None:
        report["junit"] = str(write_bytes_atomic(Path(junit), junit_xml(report)))
    return report



def check_thresholds(limits) -> None:
    """validate's thresholds: finite, percentages within 0..100, a logit difference within 0..255."""
    import math

    for name, value in (("--max-accuracy-drop", limits.max_accuracy_drop), ("--min-agreement", limits.min_agreement),
                        ("--min-float-agreement", limits.min_float_agreement)):
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise UserError(f"{name} is a percentage between 0 and 100, got {value}")
    if not 0 <= limits.c_max_logit_diff <= 255:
        raise UserError(f"--c-max-logit-diff is an int8 logit difference between 0 and 255, got {limits.c_max_logit_diff}")
