"""LeNet-5 in two variants, with the stage names of the paper (C1, S2, C3, S4, C5, F6, OUTPUT).

`classic` follows LeCun et al. 1998: scaled tanh f(a) = 1.7159 tanh(2a/3) after every layer up to F6,
S2/S4 subsampling (sum of a 2x2 block times a trainable coefficient plus a trainable bias, per map), the
C3 partial connection table, and either a trainable softmax output (default) or the paper's Euclidean RBF
output with fixed +-1 prototypes drawn from 7x12 digit bitmaps. With `pool_activation="none"` S2/S4 are not
squashed and C3 is fully connected: the LeNet of Keras and d2l tutorials, which `edgelenet import` reads.
`modern`: ReLU, 2x2 max pooling, full C3 connectivity, softmax output.

Both read raw uint8 pixels: the source image (28x28 for MNIST) is resampled into a 32x32 field of background
(edgelenet/resample.py; MNIST: centred, background pixel 0) and scaled as in the paper so that background
0 is -0.1 and full ink is 1.175: x = 0.005 * pixel - 0.1. That mapping is
exactly representable in int8 (q = pixel - 128 with scale 0.005 and zero point -108), which is why the
integer engines reproduce the input stage without error.
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelenet.errors import UserError
from edgelenet.family import (ARCHS, C3_TABLE, DEFAULT_WIDTHS, DIGIT_BITMAPS, HEADS, PIXEL_SCALE,  # noqa: F401
                              SQUASH_A, SQUASH_S, DataInfo, ModelConfig, c3_connections, prototype_rows)

PIXEL_OFFSET = -0.1
INPUT_SIDE = 32
PAD = 2


def rbf_prototypes() -> torch.Tensor:
    """(10, 84) fixed +-1 parameter vectors of the RBF output units (family.DIGIT_BITMAPS)."""
    return torch.tensor(prototype_rows())


def squash(a: torch.Tensor) -> torch.Tensor:
    return SQUASH_A * torch.tanh(SQUASH_S * a)


def paper_uniform_(tensor: torch.Tensor, fan_in: int) -> None:
    """Paper's initialisation: uniform in [-2.4/F, 2.4/F] with F the fan-in of the unit."""
    nn.init.uniform_(tensor, -2.4 / fan_in, 2.4 / fan_in)


class Subsampling(nn.Module):
    """S2/S4: per map, coefficient * (sum of a 2x2 block) + bias."""

    def __init__(self, maps: int):
        super().__init__()
        self.coefficient = nn.Parameter(torch.empty(maps))
        self.bias = nn.Parameter(torch.empty(maps))
        paper_uniform_(self.coefficient, 4)
        paper_uniform_(self.bias, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N, C, H/2, W/2)
        block_sum = 4.0 * F.avg_pool2d(x, 2)
        return block_sum * self.coefficient.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def c3_mask(c1: int = 6, c3: int = 16, table: bool = True) -> torch.Tensor:
    """(C3, C1, 1, 1) mask: 1 where C3 map i reads S2 map j (family.c3_connections)."""
    mask = torch.zeros(c3, c1, 1, 1)
    for out_map, inputs in enumerate(c3_connections(c1, c3, table)):
        mask[out_map, list(inputs)] = 1.0
    return mask


class PartialConv2d(nn.Conv2d):
    """A convolution whose kernel is zero outside a fixed connection table (C3)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, mask: torch.Tensor):
        super().__init__(in_ch, out_ch, kernel)
        self.register_buffer("mask", mask, persistent=False)
        with torch.no_grad():
            self.weight.mul_(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias)


class RBFOutput(nn.Module):
    """Euclidean RBF units: y_i = sum_j (x_j - w_ij)^2 with fixed w; returns -y as logits (argmax = closest)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("prototypes", rbf_prototypes(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 84) -> (N, 10)
        return -torch.cdist(x, self.prototypes).square()

    def as_linear(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights and bias of a linear layer with the same argmax: -y_i + |x|^2 = 2 w_i.x - |w_i|^2.

        The dropped |x|^2 is the same for all ten units, so the ranking (and the label) is unchanged.
        """
        return 2.0 * self.prototypes, -self.prototypes.square().sum(dim=1)


class LeNet5(nn.Module):
    """The family member `config`; `data` records what it was made for (classes, geometry, data set)."""

    def __init__(self, config: ModelConfig = ModelConfig(), data: DataInfo | None = None):
        super().__init__()
        self.config = config
        self.data = data if data is not None else _default_data(config.num_classes)
        if self.data.num_classes != config.num_classes:
            raise UserError(f"{self.data.num_classes} class names for a model with {config.num_classes} outputs")
        classic = config.arch == "classic"
        c1, c3, c5, f6 = config.widths
        self.c1 = nn.Conv2d(1, c1, 5)
        self.s2 = Subsampling(c1) if classic else nn.MaxPool2d(2)
        self.c3 = PartialConv2d(c1, c3, 5, c3_mask(c1, c3, config.c3_table)) if classic else nn.Conv2d(c1, c3, 5)
        self.s4 = Subsampling(c3) if classic else nn.MaxPool2d(2)
        self.c5 = nn.Conv2d(c3, c5, 5)
        self.f6 = nn.Linear(c5, f6)
        self.output = RBFOutput() if config.head == "rbf" else nn.Linear(f6, config.num_classes)
        if classic:
            self._paper_init()

    def _paper_init(self) -> None:
        """Uniform in [-2.4/F, 2.4/F] per unit; a C3 map's fan-in depends on how many S2 maps it reads."""
        with torch.no_grad():
            layers = [self.c1, self.c5, self.f6] + ([self.output] if isinstance(self.output, nn.Linear) else [])
            for layer in layers:
                fan_in = layer.weight[0].numel()
                paper_uniform_(layer.weight, fan_in)
                paper_uniform_(layer.bias, fan_in)
            for out_map, inputs in enumerate(c3_connections(*self.config.widths[:2], self.config.c3_table)):
                fan_in = 25 * len(inputs)
                paper_uniform_(self.c3.weight[out_map], fan_in)
                paper_uniform_(self.c3.bias[out_map:out_map + 1], fan_in)
            self.c3.weight.mul_(self.c3.mask)

    @property
    def activation(self):
        return squash if self.config.arch == "classic" else F.relu

    def forward(self, x: torch.Tensor, record: dict | None = None) -> torch.Tensor:
        """(N, 1, 32, 32) normalised input -> (N, classes) logits.

        `record`, when given, receives every tensor the int8 model quantizes, by name: `<layer>.pre` (the
        input of a tanh) and `<layer>.out` (the layer's stored output; for `modern`, after max pooling).
        """
        act = self.activation
        keep = record.__setitem__ if record is not None else (lambda name, value: None)
        classic = self.config.arch == "classic"
        x = x.float()
        keep("input", x)
        for conv, pool, conv_name, pool_name in ((self.c1, self.s2, "c1", "s2"), (self.c3, self.s4, "c3", "s4")):
            a = conv(x)
            keep(f"{conv_name}.pre", a)
            x = act(a)
            if classic:
                keep(f"{conv_name}.out", x)
                a = pool(x)
                if self.config.pool_activation == "squash":
                    keep(f"{pool_name}.pre", a)
                    x = act(a)
                else:
                    x = a   # pool_activation "none": the subsampling feeds the next layer directly
            else:
                x = pool(x)  # max pooling commutes with ReLU and with int8 requantization
            keep(f"{pool_name}.out", x)
        x = self.c5(x).flatten(1)
        keep("c5.pre", x)
        x = act(x)
        keep("c5.out", x)
        a = self.f6(x)
        keep("f6.pre", a)
        x = act(a)
        keep("f6.out", x)
        logits = self.output(x)
        keep("output.out", logits if self.config.head == "softmax" else self.output_linear_logits(x))
        return logits

    def output_linear_logits(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.output.as_linear()
        return x @ weight.T + bias

    def forward_pixels(self, pixels: torch.Tensor, record: dict | None = None) -> torch.Tensor:
        """uint8 source images (N, H, W) or (N, 1, H, W) of the model's input size -> logits."""
        return self(normalize_pixels(pixels, self.data), record)


def normalize_pixels(pixels: torch.Tensor, data: DataInfo | None = None) -> torch.Tensor:
    """uint8 (N, H, W) or (N, 1, H, W) -> float (N, 1, 32, 32): resampled into the field, x = 0.005 p - 0.1.

    `data` gives the geometry and background (default: MNIST, 28x28 centred on background 0)."""
    from edgelenet.resample import plan, to_field

    data = data if data is not None else DataInfo()
    if pixels.dim() == 3:
        pixels = pixels.unsqueeze(1)
    p = plan(data.input_size)
    if p.is_padding and tuple(pixels.shape[2:]) == (p.height, p.width):   # only placed: pad in torch
        pads = (p.left, INPUT_SIDE - p.left - p.out_w, p.top, INPUT_SIDE - p.top - p.out_h)
        x = F.pad(pixels.float(), pads, value=float(data.background))
    else:
        x = torch.from_numpy(to_field(pixels.numpy(), data.input_size, data.background)).unsqueeze(1).float()
    return x * PIXEL_SCALE + PIXEL_OFFSET


def _default_data(num_classes: int) -> DataInfo:
    """MNIST's record for ten classes; the default names `0`..`N-1` otherwise (set `data` to name them)."""
    return DataInfo() if num_classes == 10 else DataInfo(classes=tuple(str(i) for i in range(num_classes)))


def build_model(arch: str = "modern", head: str = "softmax", widths=DEFAULT_WIDTHS, num_classes: int = 10,
                data: DataInfo | None = None, pool_activation: str = "squash") -> LeNet5:
    return LeNet5(ModelConfig(arch=arch, head=head, widths=tuple(widths), num_classes=num_classes,
                              pool_activation=pool_activation), data)


def model_from_state(arch: str, head: str, state: dict, widths=DEFAULT_WIDTHS, num_classes: int = 10,
                     data: DataInfo | None = None, pool_activation: str = "squash") -> LeNet5:
    """A float model from a state dict of numpy arrays or tensors (an artifact's `float.*` tensors)."""
    model = build_model(arch, head, widths, num_classes, data, pool_activation)
    model.load_state_dict({k: torch.as_tensor(np.array(v, dtype=np.float32)) for k, v in state.items()})
    return model.eval()


def logits_numpy(model: LeNet5, pixels: np.ndarray, batch: int = 2000) -> np.ndarray:
    """Float logits for uint8 pixels (N, H, W) of the model's input size, in batches, without gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(pixels), batch):
            out.append(model.forward_pixels(torch.from_numpy(np.ascontiguousarray(pixels[start:start + batch]))))
    return torch.cat(out).numpy() if out else np.zeros((0, model.config.num_classes), np.float32)


def numpy_state(model: LeNet5) -> dict[str, np.ndarray]:
    """The state dict as float64 numpy arrays (float32 -> float64 is exact): edgelenet.layer_plan's input."""
    return {name: value.detach().double().numpy() for name, value in model.state_dict().items()}


def float_model_of(qmodel) -> LeNet5:
    """The float model an int8 artifact (`edgelenet.artifact.QuantizedModel`) was quantized from."""
    return model_from_state(qmodel.arch, qmodel.head, qmodel.float_state, qmodel.widths, qmodel.num_classes,
                            qmodel.data, qmodel.pool_activation)
