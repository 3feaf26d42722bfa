"""The `edgelenet` command: thin typer commands that each make one call into the library.

Exit codes: 0 success, 1 a check failed (validate thresholds), 2 bad input or usage, 130/143 interrupted
(SIGINT/SIGTERM, temporary files removed). Every user error is a `UserError` (or an OSError: disk full,
permission denied), turned into one `error: ...` line on stderr by `_guard`; usage errors end with one
`error: ...` line too (`main`). Python warnings are not printed: what the user must know is a `warning:` line.
With `--json` a command prints exactly one JSON object on stdout; progress and logs go to stderr.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import warnings
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from edgelenet.errors import CheckFailed, Terminated, UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="LeNet-5 from PyTorch training to an integer-only C engine, with proven int8 parity.")
stdout = Console()
stderr = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")]
ModelArg = Annotated[str, typer.Argument(help="Checkpoint path, or `classic` / `modern` for the shipped ones.")]
DataDir = Annotated[Optional[Path], typer.Option(
    "--data", "--data-dir", help="Your data set instead of the packaged MNIST: a folder with train/ and test/ "
    "class folders of PNG/JPEG/BMP images, a folder of IDX files, or an .npz with x_train, y_train, x_test, y_test "
    "(docs/data.md). A test split alone is enough to measure.")]
Widths = Annotated[Optional[str], typer.Option(
    help="Channel widths C1,C3,C5,F6 of the LeNet-5 family (default 6,16,120,84; limits 64,64,1024,1024).")]


def _guard(command: Callable) -> Callable:
    """Map UserError to one error line + exit 2, CheckFailed to exit 1; never a traceback for either."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
        except OSError as exc:   # an environment problem on a path the user gave (disk full, permissions)
            from edgelenet.fileio import os_error

            _error(str(os_error("access", exc.filename or "a file", exc)))
            raise typer.Exit(2) from None
        except MemoryError:
            _error("out of memory (is an input far larger than expected?)")
            raise typer.Exit(2) from None
        except CheckFailed as exc:
            stderr.print(f"[red]check failed:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    return wrapper


def _error(message: str) -> None:
    """The one error line: markup in the message is escaped, newlines (from a file name, say) shown as \\n."""
    text = message.replace("\n", "\\n").replace("\r", "\\r")
    stderr.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)


def _emit(result: dict, as_json: bool, render: Callable[[dict], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    else:
        render(result)


def _table(title: str, columns: list[str], rows: list[list]) -> Table:
    table = Table(title=title)
    for index, column in enumerate(columns):
        numeric = all(isinstance(row[index], (int, float)) for row in rows if row[index] != "")
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    return table


@app.command()
@_guard
def summary(
    arch: Annotated[str, typer.Option(help="classic (LeCun et al. 1998) or modern (ReLU, max pooling).")] = "modern",
    head: Annotated[Optional[str], typer.Option(
        help="Output layer: softmax or rbf. Default: the paper's RBF for classic (10 classes, F6 = 84), softmax "
             "otherwise.")] = None,
    widths: Widths = None,
    classes: Annotated[int, typer.Option(help="Number of classes (2..100).")] = 10,
    pool_activation: Annotated[str, typer.Option(
        help="classic: squash after S2/S4 (the paper) or none (the Keras/d2l tutorial LeNet, fully connected "
             "C3; what `import` makes of it).")] = "squash",
    as_json: JsonFlag = False,
) -> None:
    """Per-layer table: output shape, trainable parameters, connections, MACs, and the int8 weight bytes."""
    from edgelenet.family import DEFAULT_WIDTHS, parse_widths
    from edgelenet.model import build_model
    from edgelenet.summary import summary_dict

    shape = parse_widths(widths)
    paper = arch == "classic" and classes == 10 and shape[3] == DEFAULT_WIDTHS[3] and pool_activation == "squash"
    result = summary_dict(build_model(arch, head or ("rbf" if paper else "softmax"), shape, classes,
                                      pool_activation=pool_activation))

    def render(r: dict) -> None:
        rows = [[l["name"], l["kind"], "x".join(map(str, l["output_shape"])), l["params"], l["connections"], l["macs"]]
                for l in r["layers"]]
        rows.append(["total", "", "", r["total_params"], r["total_connections"], r["total_macs"]])
        stdout.print(_table(f"LeNet-5 {r['arch']} ({r['head']} output), widths {','.join(map(str, r['widths']))}, "
                            f"{r['classes']} classes", ["layer", "kind", "output", "params", "connections", "MACs"], rows))
        stdout.print(f"int8 weight tables: {r['int8_weight_bytes']:,} bytes ({r['int8_weight_bytes_note']})")
    _emit(result, as_json, render)


@app.command()
@_guard
def train(
    arch: Annotated[str, typer.Option(help="classic or modern.")] = "modern",
    head: Annotated[str, typer.Option(help="softmax, or rbf (classic only: the paper's fixed RBF output).")] = "softmax",
    epochs: Annotated[Optional[int], typer.Option(help="Passes over the training set (default 20).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed for initialisation, shuffling and augmentation.")] = 0,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/train"),
    limit: Annotated[Optional[int], typer.Option(help="Train on the first N training images only.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/train_state.pt (saved every epoch).")] = False,
    data_dir: DataDir = None,
    widths: Widths = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate of the one-cycle schedule (default 0.003).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Images per step (default 128; with --data a tenth of the training images, within 16..128).")] = None,
    augment: Annotated[Optional[str], typer.Option(
        help="Random changes to each training image: digits (rotate up to 10 degrees, scale up to 10 %, shift up "
             "to 2 pixels: right for handwriting; the MNIST default), light (no rotation, scale up to 5 %, shift up "
             "to 1 pixel: the default with --data), none.")] = None,
    valid_fraction: Annotated[Optional[float], typer.Option(
        help="Part of the training images held out for validation when the data set has no valid/ split "
             "(default 0.1; at least one image, never all; 0 holds none out). MNIST holds out a fixed 5,000.")] = None,
    pool_activation: Annotated[Optional[str], typer.Option(
        help="classic: squash after S2/S4 (the paper, default) or none (the Keras/d2l tutorial LeNet, fully "
             "connected C3).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train LeNet-5 on MNIST or your data; writes a checkpoint, metrics JSON and a loss/accuracy PNG."""
    from edgelenet import commands
    from edgelenet.family import parse_widths

    options = {"widths": parse_widths(widths) if widths is not None else None, "lr": lr, "batch_size": batch_size,
               "augment": augment, "valid_fraction": valid_fraction, "pool_activation": pool_activation}
    result = commands.train_and_test(arch, head, epochs, seed, out, limit, data_dir, stderr, resume, options)
    _emit(result, as_json, lambda r: stdout.print(
        f"test accuracy {r['test_accuracy']:.4f} on {r['data']['n_test']:,} test images of {r['data']['name']}  "
        f"({r['train_seconds']:.0f} s, {r['images_per_second']:.0f} img/s)\n"
        f"{r['total_macs']:,} MACs, {r['int8_weight_bytes']:,} bytes of int8 weight tables\ncheckpoint {r['checkpoint']}"))


@app.command()
@_guard
def evaluate(
    model: ModelArg,
    out: Annotated[Path, typer.Option(help="Where to write the confusion-matrix PNG.")] = Path("runs/evaluate"),
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Accuracy on the test split (MNIST's official 10k by default), and a confusion-matrix PNG."""
    from edgelenet import commands

    result = commands.evaluate_model(model, out, data_dir)
    _emit(result, as_json, lambda r: stdout.print(
        f"accuracy {r['accuracy']:.4f} on {r['n']:,} test images of {r['data']['name']} ({r['errors']} errors)"
        f"\nconfusion {r['confusion_png']}"))


@app.command()
@_guard
def quantize(
    model: ModelArg,
    calib_method: Annotated[str, typer.Option(
        help="Range estimator: minmax (default, chosen on the validation split), percentile, mse or entropy.")] = "minmax",
    calib_size: Annotated[int, typer.Option(help="Number of calibration images (class-balanced).")] = 1000,
    calib_data: Annotated[Optional[Path], typer.Option(
        help="Calibrate on these images (a data set as for --data, an image class folder, IDX or .npy) instead of "
             "the training images.")] = None,
    per_tensor: Annotated[bool, typer.Option("--per-tensor", help="One weight scale per tensor, not per channel.")] = False,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of the calibration draw.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Artifact file to write.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """int8 post-training quantization: writes the artifact every other command reads."""
    from edgelenet import commands

    result = commands.quantize_checkpoint(model, out, calib_method, calib_size, calib_data, per_tensor, seed, data_dir)

    def render(r: dict) -> None:
        rows = [[l["layer"], l["activation"], f"{l['output_scale']:.5f}", l["output_zero_point"],
                 f"{l['output_clipped']:.4%}", f"{l['output_sqnr_db']:.1f}"] for l in r["layers"]]
        stdout.print(_table("int8 layers", ["layer", "activation", "scale", "zero point", "clipped", "SQNR dB"], rows))
        stdout.print(f"float {r['float_accuracy']:.4f}  int8 {r['int8_accuracy']:.4f}  "
                     f"agreement {r['agreement']:.4f} on {r['n']:,} test images\nartifact {r['artifact']}")
    for warning in result["warnings"]:
        stderr.print(f"[yellow]warning:[/yellow] {warning}")
    _emit(result, as_json, render)


@app.command()
@_guard
def predict(
    model: Annotated[str, typer.Argument(help="int8 artifact, or a float checkpoint / classic / modern.")],
    images: Annotated[list[Path], typer.Argument(
        help="PNG/JPEG/BMP files, .npy arrays (N, H, W) or IDX image files of the model's image size.")],
    backend: Annotated[Optional[str], typer.Option(
        help="Runtime: torch, reference, onnxruntime, tinygrad or c. Default: reference for an artifact, "
             "torch for a float checkpoint.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Predicted class names (and indices, logits with --json) for images."""
    from edgelenet import commands

    result = commands.predict_images(model, images, backend)
    _emit(result, as_json, lambda r: stdout.print("\n".join(r["labels"]), highlight=False, markup=False))


@app.command("import")
@_guard
def import_(
    file: Annotated[Path, typer.Argument(help="ONNX model, or a PyTorch state dict (.pt) of a float LeNet-5.")],
    out: Annotated[Path, typer.Option(help="Checkpoint to write.")],
    classes: Annotated[Optional[str], typer.Option(
        help="Names of the model's outputs a,b,... in order (default: --data's classes, or 0..N-1).")] = None,
    mean: Annotated[Optional[float], typer.Option(help="Normalize's mean after ToTensor (pixel/255).")] = None,
    std: Annotated[Optional[float], typer.Option(help="Normalize's std after ToTensor; with --mean.")] = None,
    scale: Annotated[Optional[float], typer.Option(help="The model reads scale * pixel + offset.")] = None,
    offset: Annotated[Optional[float], typer.Option(help="See --scale.")] = None,
    map_: Annotated[Optional[str], typer.Option("--map", help=(
        "State dicts: name the layers, c1=PREFIX,c3=...,c5=...,f6=...,output=... (module prefixes)."))] = None,
    input_size: Annotated[Optional[str], typer.Option(
        help="State dicts: 28 (C1 padded by 2, the default) or 32 (unpadded).")] = None,
    data: Annotated[Optional[Path], typer.Option(help=(
        "The data set the model was made for (recorded; evaluate/quantize/validate then measure on it). "
        "Without it, a 10-class 28x28 model is taken as an MNIST model."))] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read a float LeNet-5-family model trained elsewhere into a checkpoint (see docs/import.md).

    Default normalization: pixel/255 (ToTensor), or raw pixels when the ONNX graph itself scales its input
    down by 100 or more (Keras Rescaling(1/255))."""
    from edgelenet.importer import import_model

    result = import_model(file, out, classes, mean, std, scale, offset, map_, input_size, data)
    if result["background_error"]:
        stderr.print(f"[yellow]warning:[/yellow] C1 pads with pixel level {result['background']} "
                     f"+ {result['background_error']:.3f}; the frame gets level {result['background']}")

    def render(r: dict) -> None:
        rows = [[l["name"], l["source"], "x".join(map(str, l["weight_shape"]))] for l in r["layers"]]
        variant = r["arch"] + (" (no activation after pooling)" if r["pool_activation"] == "none" else "")
        stdout.print(_table(f"imported {r['format']} as {variant}", ["layer", "from", "weight"], rows))
        stdout.print(f"classes {', '.join(r['classes'])}\ncheckpoint {r['checkpoint']}", highlight=False)
    _emit(result, as_json, render)


@app.command("export-onnx")
@_guard
def export_onnx(
    model: Annotated[str, typer.Argument(
        help="int8 artifact (writes the float and the int8 ONNX model), or a checkpoint / classic / modern (float).")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/onnx"),
    as_json: JsonFlag = False,
) -> None:
    """ONNX models (opset 21, int8 in QDQ form) that read raw uint8 pixels: see docs/onnx.md."""
    from edgelenet import commands

    result = commands.export_onnx(model, out)
    _emit(result, as_json, lambda r: stdout.print("\n".join(r["files"]), highlight=False))


@app.command("export-c")
@_guard
def export_c(
    artifact: Annotated[Path, typer.Argument(help="int8 artifact written by `edgelenet quantize`.")],
    out: Annotated[Path, typer.Option(help="Output directory (the engine; example/ inside).")] = Path("runs/c"),
    prefix: Annotated[str, typer.Option(help="C name of the model: file names, symbols and macros.")] = "lenet5",
    optimize: Annotated[str, typer.Option(help="Cortex-M4/M7/M33 layout: size (int8 weights, the smaller flash) "
                                               "or speed (16-bit full-layer weights, fewer instructions).")] = "size",
    as_json: JsonFlag = False,
) -> None:
    """C99 integer-only engine + weight header + example, and a memory report (scratch, flash, stack, MACs)."""
    from edgelenet import commands

    result = commands.export_c(artifact, out, prefix, optimize)

    def render(r: dict) -> None:
        rows = [[name, macs] for name, macs in r["macs"].items()] + [["total", r["total_macs"]]]
        stdout.print(_table(f"{r['prefix']}: MACs per layer", ["layer", "MACs"], rows))
        stdout.print(f"scratch {r['scratch_bytes']:,} B   {_flash_line(r)}   "
                     f"stack {r['stack_bytes'] or 'not measured'} B\n"
                     f"{r['flash_note']}; --optimize {r['optimize']} (flash "
                     + ", ".join(f"{k} {v:,} B" for k, v in r["flash_bytes_by_optimize"].items()) + ")\n"
                     + "\n".join(r["files"]), highlight=False)
    _emit(result, as_json, render)


def _flash_line(r: dict) -> str:
    """Flash as measured for one core: code + constants (weights and tables) of the path that core compiles,
    so the parts add up; without the Arm compiler only the host path's weight bytes are known."""
    if r["code_bytes"] is None:
        return f"flash not measured (host weights {r['weights_bytes']:,} B)"
    return (f"flash {r['flash_bytes']:,} B on {r['cpu']} = code {r['code_bytes']:,} B + weights and tables "
            f"{r['const_bytes']:,} B")


@app.command()
@_guard
def validate(
    artifact: Annotated[Path, typer.Argument(help="int8 artifact written by `edgelenet quantize`.")],
    runtimes: Annotated[Optional[str], typer.Option(
        help="Comma-separated runtimes (default: all but the emulated cores): torch, reference, ort-float, "
             "ort-int8, tinygrad-float, tinygrad-int8, c (host), qemu-m0, qemu-m3, qemu-m4, qemu-m7, qemu-m33, "
             "qemu-m55 (the C engine on an emulated Cortex-M core). torch and reference always run (baselines). "
             "A runtime that cannot run here is skipped; it fails validation only if named here.")] = None,
    junit: Annotated[Optional[Path], typer.Option(help="Also write the result as JUnit XML to this file.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Use the first N test images only.")] = None,
    max_accuracy_drop: Annotated[float, typer.Option(
        help="Percentage points an int8 runtime may lose against the float model.")] = 0.1,
    min_agreement: Annotated[float, typer.Option(
        help="Percent of labels ort-int8 and tinygrad-int8 must share with the integer reference.")] = 99.9,
    min_float_agreement: Annotated[float, typer.Option(
        help="Percent of labels ort-float and tinygrad-float must share with torch.")] = 99.9,
    c_max_logit_diff: Annotated[int, typer.Option(
        help="Largest int8 logit difference allowed between the C engine and the reference.")] = 0,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Parity table across runtimes on the test split (MNIST's by default); exit 1 if a threshold fails."""
    from edgelenet import commands
    from edgelenet.parity import Thresholds, table_rows

    limits = Thresholds(max_accuracy_drop, min_agreement, min_float_agreement, c_max_logit_diff)
    result = commands.validate_artifact(artifact, runtimes, junit, limit, limits, data_dir, stderr)
    failed = [c for c in result["checks"] if not c["passed"]]

    def render(r: dict) -> None:
        columns = ["runtime", "kind", "accuracy", "agree ref", "max diff", "seconds", "checks"]
        stdout.print(_table(f"parity on {r['n']:,} test images of {r['data']['name']} (agreement with the integer reference; "
                            f"max diff: int8 logit steps)", columns, table_rows(r)))
        for name, info in r["runtimes"].items():
            if info["status"] != "ok":
                stdout.print(f"{name} skipped: {info['reason']}", highlight=False)
            elif info.get("core"):
                stdout.print(f"{name}: {info['core']} on QEMU {info['board']}, {info['images']:,} images compared, "
                             f"{info['instructions_per_inference']:,} instructions per inference (not cycles)",
                             highlight=False)
        stdout.print("PASSED" if r["passed"] else "FAILED", highlight=False)
    _emit(result, as_json, render)
    if failed:
        raise CheckFailed("; ".join(f"{c['runtime']} {c['check']} = {c['value']} (limit {c['limit']})"
                                    for c in failed))


@app.command()
@_guard
def run(
    out: Annotated[Path, typer.Option(help="Output directory for every file and the report.")] = Path("out"),
    model: Annotated[Optional[str], typer.Option(
        help="Start from this checkpoint (`classic`, `modern` or a path) instead of training.")] = None,
    arch: Annotated[str, typer.Option(help="Architecture to train when no --model is given.")] = "modern",
    epochs: Annotated[Optional[int], typer.Option(help="Training epochs (default 20).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed for training and the calibration draw.")] = 0,
    limit: Annotated[Optional[int], typer.Option(help="Train on the first N training images only.")] = None,
    validate_limit: Annotated[Optional[int], typer.Option(help="Validate on the first N test images only.")] = None,
    data_dir: DataDir = None,
    target: Annotated[str, typer.Option(
        help="Emulated core for the last stage: qemu-m0, qemu-m3, qemu-m4, qemu-m7, qemu-m33 or qemu-m55.")] = "qemu-m4",
    as_json: JsonFlag = False,
) -> None:
    """The whole pipeline: train, quantize, validate, export ONNX and C, run the C on host and an emulated core."""
    from edgelenet.pipeline import RunConfig, run_pipeline

    cfg = RunConfig(out=out, model=model, arch=arch, epochs=epochs, seed=seed, train_limit=limit,
                    validate_limit=validate_limit, data=data_dir, target=target)
    result = run_pipeline(cfg, stderr)
    _emit(result, as_json, lambda r: stdout.print(Markdown((out / "report.md").read_text())))
    if not result["validate"]["passed"]:
        raise CheckFailed("validation thresholds failed; see the report")


def _terminate(signum, frame) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> None:
    """Run the app; usage errors become usage lines and one `error:` line, exit 2."""
    signal.signal(signal.SIGTERM, _terminate)   # unwinds like SIGINT, so `finally` removes temporary files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = app(args=argv, standalone_mode=False)
        except typer.TyperException as exc:   # click's usage errors (vendored by typer)
            code = _usage_error(exc)
        except typer.Abort:
            _error("aborted")
            code = 1
        except Terminated:
            code = 128 + signal.SIGTERM
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc) -> int:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":   # `edgelenet` alone: the help text
        if exc.format_message().strip():   # rich has printed it already when the message is empty
            sys.stdout.write(exc.format_message() + "\n")
        return exc.exit_code
    if ctx is not None:
        stderr.print(ctx.get_usage(), highlight=False, markup=False)
        stderr.print(f"Try '{ctx.command_path} --help' for help.", highlight=False, markup=False)
    _error(exc.format_message())
    return getattr(exc, "exit_code", 2)
