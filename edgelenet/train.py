"""Training: AdamW with a one-cycle learning-rate schedule and random affine augmentation.

Small random rotations, scalings and shifts of each training image plus a one-cycle schedule are what
carry both variants to their accuracy targets within the default epochs; benchmarks/training.py measures
the accuracy reached over several seeds (BENCHMARKS.md, "Training").
Everything random draws from one seeded generator, so a seed gives the same checkpoint bytes on one machine.

Augmentation (--augment), applied on the 32x32 field, background preserved:
- digits (MNIST's default): rotation up to 10 degrees, scaling up to 10 %, shifts up to 2 pixels;
- light (default with --data): no rotation, scaling up to 5 %, shifts up to 1 pixel;
- none: the images as they are.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console

from edgelenet import __version__
from edgelenet.checkpoint import save_checkpoint
from edgelenet.data import Split
from edgelenet.errors import UserError
from edgelenet.family import DEFAULT_WIDTHS, DataInfo
from edgelenet.fileio import atomic_path, ensure_dir, write_text_atomic
from edgelenet.model import PIXEL_OFFSET, PIXEL_SCALE, LeNet5, ModelConfig, normalize_pixels

# (rotation degrees, scale, shift pixels) per --augment mode
AUGMENT = {"digits": (10.0, 0.10, 2.0), "light": (0.0, 0.05, 1.0), "none": (0.0, 0.0, 0.0)}
from edgelenet.progress import progress_bar


@dataclass
class TrainConfig:
    arch: str = "modern"
    head: str = "softmax"
    epochs: int = 20             # both targets within 3 minutes on 2 cores (benchmarks/training.py)
    batch_size: int = 128        # small batches generalise better on MNIST; larger ones cost accuracy
    max_lr: float = 3e-3         # peak of the one-cycle schedule
    weight_decay: float = 1e-4
    rotate_degrees: float = 10.0  # augmentation: digits stay readable within these limits
    scale: float = 0.10
    shift_pixels: float = 2.0
    seed: int = 0
    train_limit: int | None = None  # train on the first N images only (tests, quick checks)
    threads: int = 2
    widths: tuple = DEFAULT_WIDTHS  # (C1, C3, C5, F6)
    augment: str = "digits"         # AUGMENT: digits, light or none
    pool_activation: str = "squash"  # classic: after S2/S4, squash (paper) or none (family.ModelConfig)

    def __post_init__(self):
        if self.augment not in AUGMENT:
            raise UserError(f"unknown --augment {self.augment!r}: choose one of {', '.join(AUGMENT)}")
        self.rotate_degrees, self.scale, self.shift_pixels = AUGMENT[self.augment]
        self.widths = tuple(self.widths)

    def validate(self) -> None:
        ModelConfig(self.arch, self.head, self.widths, pool_activation=self.pool_activation)
        if not (self.max_lr > 0 and math.isfinite(self.max_lr)):
            raise UserError(f"--lr must be a positive number, got {self.max_lr}")
        if self.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.train_limit is not None and self.train_limit < 1:
            raise UserError(f"--limit must be at least 1, got {self.train_limit}")


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    train_accuracy: float
    valid_accuracy: float | None
    images_per_second: float
    seconds: float


@dataclass
class TrainResult:
    model: LeNet5
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0


def random_affine(x: torch.Tensor, cfg: TrainConfig, gen: torch.Generator, background: int = 0) -> torch.Tensor:
    """Rotate, scale and shift each (1, 32, 32) image by a random small amount; the background level stays."""
    if cfg.augment == "none":
        return x
    level = PIXEL_SCALE * background + PIXEL_OFFSET
    n = x.shape[0]
    u = torch.rand(n, 4, generator=gen) * 2 - 1  # uniform in [-1, 1]
    angle = u[:, 0] * math.radians(cfg.rotate_degrees)
    zoom = 1 + u[:, 1] * cfg.scale
    shift = u[:, 2:] * (2 * cfg.shift_pixels / x.shape[-1])  # in normalised [-1, 1] grid units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with zeros, so sample the image relative to its background
    return F.grid_sample(x - level, grid, align_corners=False) + level


def accuracy(model: LeNet5, split: Split | None, batch: int = 2000) -> float | None:
    """Fraction correct, or None for an empty (or absent) split."""
    if split is None or len(split) == 0:
        return None
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(split), batch):
            logits = model.forward_pixels(torch.from_numpy(split.images[start:start + batch]))
            correct += int((logits.argmax(1).numpy() == split.labels[start:start + batch]).sum())
    return correct / max(len(split), 1)


@dataclass
class _Run:
    """Everything that evolves during training; saved after each epoch so that --resume can continue."""
    model: LeNet5
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    gen: torch.Generator
    epoch: int = 0
    history: list[EpochRecord] = field(default_factory=list)


def _new_run(cfg: TrainConfig, steps_per_epoch: int, data_info: DataInfo | None = None) -> _Run:
    torch.manual_seed(cfg.seed)
    classes = data_info.num_classes if data_info is not None else 10
    model = LeNet5(ModelConfig(cfg.arch, cfg.head, cfg.widths, classes, cfg.pool_activation), data_info)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.max_lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.max_lr,
                                                   total_steps=cfg.epochs * steps_per_epoch)
    return _Run(model, optimizer, schedule, torch.Generator().manual_seed(cfg.seed))


# settings added after the shipped checkpoints were trained: recorded only when they differ from these
# defaults, so that MNIST training records (and checkpoint bytes) stay what they were
LATER_DEFAULTS = {"widths": list(DEFAULT_WIDTHS), "augment": "digits", "pool_activation": "squash"}


def _resumable_config(cfg: TrainConfig) -> dict:
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items() if k != "threads"}
    return {k: v for k, v in config.items() if LATER_DEFAULTS.get(k, object()) != v}


def save_state(path: Path, cfg: TrainConfig, run: _Run) -> None:
    state = {"config": _resumable_config(cfg), "epoch": run.epoch, "history": [asdict(r) for r in run.history],
             "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
             "schedule": run.schedule.state_dict(), "generator": run.gen.get_state()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path, cfg: TrainConfig, run: _Run) -> None:
    """Continue `run` from the state saved after its last complete epoch (loaded without running code)."""
    try:
        state = torch.load(path, weights_only=True)
        if state["config"] != _resumable_config(cfg):
            raise UserError(f"{path} was saved by a run with other settings; train again without --resume")
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.schedule.load_state_dict(state["schedule"])
        run.gen.set_state(state["generator"])
        run.epoch, run.history = state["epoch"], [EpochRecord(**r) for r in state["history"]]
    except UserError:
        raise
    except Exception as exc:  # truncated or foreign file: torch raises many types
        raise UserError(f"cannot resume from {path}: {exc}") from None


def _field_data(data: DataInfo) -> DataInfo:
    """What normalize_pixels needs for images already in the field: MNIST's record as is (28x28 images are
    padded on the fly, as always), else 32x32 images placed as they are."""
    return data if data.input_size == (28, 28) else dataclasses.replace(data, input_size=(32, 32))


def _fields(images: np.ndarray, data: DataInfo) -> torch.Tensor:
    """Training images resampled into the 32x32 field once (resample.py), not once per batch and epoch."""
    from edgelenet.resample import to_field

    if data.input_size == (28, 28):
        return torch.from_numpy(images)
    return torch.from_numpy(to_field(images, data.input_size, data.background))


def _train_epoch(run: _Run, cfg: TrainConfig, images: torch.Tensor, labels: torch.Tensor, update) -> EpochRecord:
    run.model.train()
    started, seen, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
    order = torch.randperm(len(images), generator=run.gen)
    for index in order.split(cfg.batch_size):
        x = random_affine(normalize_pixels(images[index], _field_data(run.model.data)), cfg, run.gen,
                          run.model.data.background)  # (B, 1, 32, 32)
        y = labels[index]
        logits = run.model(x)
        loss = F.cross_entropy(logits, y)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.schedule.step()
        seen += len(y)
        correct += int((logits.argmax(1) == y).sum())
        loss_sum += loss.item() * len(y)
        update(loss_sum / seen, correct / seen, seen / max(time.perf_counter() - started, 1e-9))
    seconds = time.perf_counter() - started
    return EpochRecord(run.epoch + 1, loss_sum / seen, correct / seen, 0.0, seen / seconds, seconds)


def train(cfg: TrainConfig, data, console: Console | None = None, state_path: Path | None = None,
          resume: bool = False, data_info: DataInfo | None = None) -> TrainResult:
    """Train from scratch (or from `state_path` with resume=True); the state is saved after every epoch.

    `data` has train and valid Splits (datasets.Dataset, data.Mnist); `data_info` what the model records
    about it (None: MNIST)."""
    cfg.validate()
    console = console or Console(stderr=True)
    torch.set_num_threads(cfg.threads)
    split = data.train.subset(cfg.train_limit)
    if len(split) == 0:
        raise UserError("no training images")
    run = _new_run(cfg, math.ceil(len(split) / cfg.batch_size), data_info)
    images, labels = _fields(split.images, run.model.data), torch.from_numpy(split.labels)
    steps_per_epoch = math.ceil(len(images) / cfg.batch_size)
    if resume:
        if state_path is None or not Path(state_path).is_file():
            raise UserError(f"nothing to resume: {state_path} does not exist")
        load_state(state_path, cfg, run)
        console.print(f"resuming after epoch {run.epoch}")
    started = time.perf_counter()
    with progress_bar(console) as progress:
        task = progress.add_task(f"train {cfg.arch}", total=cfg.epochs * steps_per_epoch,
                                 completed=run.epoch * steps_per_epoch)
        while run.epoch < cfg.epochs:
            def update(loss, acc, ips, epoch=run.epoch + 1):
                progress.update(task, advance=1, description=f"train {cfg.arch} epoch {epoch}/{cfg.epochs}  "
                                                             f"loss {loss:.4f}  acc {acc:.4f}  {ips:,.0f} img/s")
            record = _train_epoch(run, cfg, images, labels, update)
            record.valid_accuracy = accuracy(run.model, data.valid)
            run.history.append(record)
            run.epoch += 1
            if state_path is not None:
                save_state(state_path, cfg, run)
            valid = "-" if record.valid_accuracy is None else f"{record.valid_accuracy:.4f}"
            console.print(f"epoch {record.epoch}: loss {record.loss:.4f}  train {record.train_accuracy:.4f}  "
                          f"valid {valid}  {record.images_per_second:.0f} img/s")
    run.model.eval()
    return TrainResult(run.model, run.history, time.perf_counter() - started)


def training_record(cfg: TrainConfig, result: TrainResult) -> dict:
    """What the checkpoint records about its making: no wall times, so a seed gives the same bytes."""
    curves = [{"epoch": r.epoch, "loss": r.loss, "train_accuracy": r.train_accuracy,
               "valid_accuracy": r.valid_accuracy} for r in result.history]
    return {"edgelenet": __version__, "torch": torch.__version__, "config": _recorded_config(cfg), "history": curves,
            "final_valid_accuracy": result.history[-1].valid_accuracy if result.history else None}


def _recorded_config(cfg: TrainConfig) -> dict:
    config = _resumable_config(cfg)
    config["threads"] = cfg.threads
    return {k: config[k] for k in asdict(cfg) if k in config}   # the field order asdict gives


def plot_history(history: list, path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, from EpochRecords or the dicts a checkpoint records."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = [EpochRecord(**{"images_per_second": 0.0, "seconds": 0.0, **r}) if isinstance(r, dict) else r
               for r in history]
    epochs = [r.epoch for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [r.loss for r in history], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    ax_acc.plot(epochs, [r.train_accuracy for r in history], marker="o", label="train (augmented)")
    if any(r.valid_accuracy is not None for r in history):
        ax_acc.plot(epochs, [r.valid_accuracy for r in history], marker="o", label="held-out validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def write_outputs(cfg: TrainConfig, result: TrainResult, out_dir: Path, test_accuracy: float) -> dict:
    """Checkpoint, metrics JSON and curves PNG into `out_dir`; returns the metrics."""
    ensure_dir(out_dir)
    checkpoint = out_dir / f"{cfg.arch}.safetensors"
    save_checkpoint(result.model, checkpoint, training_record(cfg, result))
    metrics = {
        "checkpoint": str(checkpoint),
        "arch": cfg.arch,
        "head": cfg.head,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "test_accuracy": test_accuracy,
        "valid_accuracy": result.history[-1].valid_accuracy,
        "train_seconds": round(result.seconds, 3),
        "images_per_second": round(float(np.mean([r.images_per_second for r in result.history])), 1),
        "history": [asdict(r) for r in result.history],
        "curves_png": str(out_dir / "training.png"),
        "metrics_json": str(out_dir / "metrics.json"),
    }
    plot_history(result.history, out_dir / "training.png", f"LeNet-5 {cfg.arch}, seed {cfg.seed}")
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
