"""edgelenet.layer_plan (config + state dict, no torch) against the torch modules it stands for.

`torch_plan` reads the plan off a LeNet5's modules, as the quantizer did before the plan became torch-free:
the C3 kernel through the module's own mask buffer, S2/S4 from the Subsampling modules, the RBF head from
RBFOutput.as_linear(). Every parameter is first set to random values (C3 off its connection table too), so
that a missing mask, a swapped tensor or a wrong reshape shows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgelenet.layer_plan import LayerPlan, layer_plan
from edgelenet.model import build_model, float_model_of, numpy_state
from edgelenet.onnx_export import artifact_float_proto, checkpoint_float_proto
from edgelenet.quantize import quantize_model

FIELDS = ("name", "kind", "in_shape", "out_shape", "activation", "input_point", "output_point", "pre_point",
          "kernel", "stride", "groups", "pool")
MEMBERS = {
    "modern": dict(arch="modern"),
    "classic": dict(arch="classic"),
    "classic-widths": dict(arch="classic", widths=(4, 10, 30, 20)),
    "classic-none": dict(arch="classic", pool_activation="none"),
    "classic-rbf": dict(arch="classic", head="rbf"),
}


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def torch_plan(model) -> list[dict]:
    """Arrays and structure of every weighted layer, read from the torch modules."""
    c1, c3, c5, _ = model.config.widths
    layers = [("C1", model.c1.weight, model.c1.bias)]
    if model.config.arch == "classic":
        for name, module, maps in (("S2", model.s2, c1), ("S4", model.s4, c3)):
            layers.append((name, module.coefficient.view(maps, 1, 1, 1).expand(maps, 1, 2, 2), module.bias))
        layers.insert(2, ("C3", model.c3.weight * model.c3.mask, model.c3.bias))
    else:
        layers.append(("C3", model.c3.weight, model.c3.bias))
    layers += [("C5", model.c5.weight.reshape(c5, -1), model.c5.bias), ("F6", model.f6.weight, model.f6.bias)]
    head = model.output.as_linear() if model.config.head == "rbf" else (model.output.weight, model.output.bias)
    layers.append(("OUTPUT", *head))
    out = [{"name": name, "weight": _np(w), "bias": _np(b)} for name, w, b in layers]
    if model.config.arch == "classic":
        out[2]["connections"] = model.c3.mask[:, :, 0, 0].numpy().astype(np.uint8)
    return out


def _randomized(member: str):
    torch.manual_seed(11)
    model = build_model(**MEMBERS[member])
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param))   # C3 off the table too: only the mask may zero it
    return model


def _differences(plans: list[LayerPlan], expected: list[dict]) -> list[str]:
    found = [] if len(plans) == len(expected) else [f"{len(plans)} layers, expected {len(expected)}"]
    for plan, want in zip(plans, expected):
        for key in ("weight", "bias"):
            got = getattr(plan, key)
            if got.dtype != np.float64 or not np.array_equal(got, want[key]):
                found.append(f"{plan.name}.{key}")
        if not np.array_equal(plan.connections if plan.connections is not None else [],
                              want.get("connections", [])):
            found.append(f"{plan.name}.connections")
    return found


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_the_plan_from_the_state_dict_equals_the_torch_modules(member):
    model = _randomized(member)
    plans = layer_plan(model.config, numpy_state(model))
    assert [p.name for p in plans] == [layer["name"] for layer in torch_plan(model)]
    assert _differences(plans, torch_plan(model)) == []
    # an artifact stores float32 tensors: the plan from them is the same, value for value
    state32 = {k: v.astype(np.float32) for k, v in numpy_state(model).items()}
    assert _differences(layer_plan(model.config, state32), torch_plan(model)) == []


def test_the_structure_is_the_layers_of_the_family():
    model = _randomized("classic-none")
    plans = layer_plan(model.config, numpy_state(model))
    s2 = plans[1]
    assert [s2.kind, s2.kernel, s2.stride, s2.groups, s2.activation, s2.pre_point] == ["conv", 2, 2, 6, "none", None]
    assert [getattr(plans[2], f) for f in FIELDS[:4]] == ["C3", "conv", [6, 14, 14], [16, 10, 10]]
    assert plans[2].connections.all()                  # the tutorial LeNet's C3 is fully connected
    paper = layer_plan(_randomized("classic").config, numpy_state(_randomized("classic")))
    assert paper[2].connections.sum() == 60            # the paper's table: 60 of 96 connections


def test_the_comparison_catches_a_missing_mask_and_a_wrong_tensor():
    model = _randomized("classic")
    state = numpy_state(model)
    unmasked = layer_plan(model.config, state)
    unmasked[2].weight = state["c3.weight"]            # C3 without its connection table
    swapped = layer_plan(model.config, dict(state, **{"s4.coefficient": state["s4.bias"]}))
    assert _differences(unmasked, torch_plan(model)) == ["C3.weight"]
    assert _differences(swapped, torch_plan(model)) == ["S4.weight"]


@pytest.mark.parametrize("member", ["modern", "classic-rbf"])
def test_the_float_onnx_of_an_artifact_equals_the_one_of_its_torch_model(member):
    """artifact_float_proto (the artifact's tensors, no torch) == checkpoint_float_proto (the torch model)."""
    images = np.random.default_rng(5).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    qmodel, _ = quantize_model(_randomized(member), images)
    torch_free = artifact_float_proto(qmodel, "m.safetensors").SerializeToString()
    assert torch_free == checkpoint_float_proto(float_model_of(qmodel), "m.safetensors",
                                                qmodel.checksum).SerializeToString()
