"""LeNet-5 structure against the paper (LeCun et al. 1998, and ../shared/LENET5.md)."""

import torch

from edgelenet.model import C3_TABLE, DIGIT_BITMAPS, build_model, c3_mask, normalize_pixels, rbf_prototypes
from edgelenet.summary import summary_dict

PAPER = {  # layer: (output shape, trainable params, connections)
    "C1": ([6, 28, 28], 156, 122_304),
    "S2": ([6, 14, 14], 12, 5_880),
    "C3": ([16, 10, 10], 1_516, 151_600),
    "S4": ([16, 5, 5], 32, 2_000),
    "C5": ([120, 1, 1], 48_120, 48_120),
    "F6": ([84], 10_164, 10_164),
    "OUTPUT": ([10], 0, 840),
}


def test_classic_summary_is_the_papers():
    table = summary_dict(build_model("classic", "rbf"))
    assert [layer["name"] for layer in table["layers"]] == list(PAPER)
    for layer in table["layers"]:
        shape, params, connections = PAPER[layer["name"]]
        assert (layer["output_shape"], layer["params"], layer["connections"]) == (shape, params, connections)
    assert table["total_params"] == 60_000
    assert table["total_connections"] == 340_908


def test_summary_params_match_the_torch_modules():
    for arch, head in (("classic", "softmax"), ("modern", "softmax")):
        model = build_model(arch, head)
        trainable = sum(p.numel() for p in model.parameters())
        if arch == "classic":  # C3's kernel tensor is full; the table counts only the 60 connected kernels
            trainable -= int((1 - c3_mask()).sum()) * 25
        assert summary_dict(model)["total_params"] == trainable


def test_modern_macs_and_classic_macs():
    assert summary_dict(build_model("modern"))["total_macs"] == 416_520
    assert summary_dict(build_model("classic", "rbf"))["total_macs"] == 332_824


def test_c3_table_is_the_papers():
    assert len(C3_TABLE) == 16
    assert [len(inputs) for inputs in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    mask = c3_mask()[:, :, 0, 0]
    assert int(mask.sum()) == 60
    assert mask[9].nonzero().flatten().tolist() == [0, 3, 4, 5]


def test_c3_unconnected_weights_stay_zero_after_training_steps():
    model = build_model("classic")
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 1, 32, 32)).square().sum().backward()
        optimizer.step()
    unconnected = c3_mask().expand_as(model.c3.weight) == 0
    assert int(unconnected.sum()) == (96 - 60) * 25
    assert torch.count_nonzero(model.c3.weight[unconnected]) == 0
    assert torch.count_nonzero(model.c3.weight[~unconnected]) == 60 * 25


def test_rbf_prototypes_are_distinct_plus_minus_one_bitmaps():
    protos = rbf_prototypes()
    assert protos.shape == (10, 84)
    assert set(protos.unique().tolist()) == {-1.0, 1.0}
    assert all(len(DIGIT_BITMAPS[d].split("|")) == 12 for d in range(10))
    assert all(len(row) == 7 for d in range(10) for row in DIGIT_BITMAPS[d].split("|"))
    distances = torch.cdist(protos, protos)
    assert distances[~torch.eye(10, dtype=torch.bool)].min() > 0


def test_rbf_linear_form_has_the_same_ranking():
    model = build_model("classic", "rbf")
    x = torch.randn(64, 84)
    weight, bias = model.output.as_linear()
    assert torch.equal(model.output(x).argmax(1), (x @ weight.T + bias).argmax(1))


def test_normalisation_is_the_papers():
    pixels = torch.tensor([[[0] * 28] * 27 + [[255] * 28]], dtype=torch.uint8)
    x = normalize_pixels(pixels)
    assert x.shape == (1, 1, 32, 32)
    assert torch.allclose(x[0, 0, 0, 0], torch.tensor(-0.1))  # border = background
    assert torch.allclose(x[0, 0, 29, 5], torch.tensor(1.175))


def test_forward_shapes_and_recorded_tensors():
    for arch, head in (("classic", "softmax"), ("classic", "rbf"), ("modern", "softmax")):
        record = {}
        logits = build_model(arch, head).forward_pixels(torch.zeros(3, 28, 28, dtype=torch.uint8), record)
        assert logits.shape == (3, 10)
        assert record["s2.out"].shape == (3, 6, 14, 14) and record["s4.out"].shape == (3, 16, 5, 5)
        assert record["output.out"].shape == (3, 10)
