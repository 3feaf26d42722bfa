"""The model-specific part of the generated C API: input geometry, `<prefix>_prepare_input` and class names.

`<prefix>_prepare_input` implements the integer resampling of edgelenet/resample.py for the model's source
geometry (one of two templates: prepare_place.c enlarges by pixel repetition or only places the image,
prepare_shrink.c averages blocks). Class names reach C only as string literals escaped here, byte by byte:
no file content can end the literal or inject code.
"""

from __future__ import annotations

from edgelenet.artifact import QuantizedModel
from edgelenet.resample import plan


def c_string(text: str) -> str:
    """A C string literal for `text`: printable ASCII kept (except \\ " ?), every other UTF-8 byte as \\ooo."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 0x20 <= byte < 0x7F and char not in '\\"?' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def class_names(prefix: str, model: QuantizedModel, width: int = 100) -> str:
    lines, line = [], ""
    for literal in (c_string(name) + "," for name in model.data.classes):
        if line and len(line) + 1 + len(literal) > width - 4:
            lines.append(line)
            line = ""
        line = f"{line} {literal}" if line else literal
    body = "\n    ".join(lines + [line])
    return f"const char *const {prefix}_class_names[{prefix.upper()}_NUM_CLASSES] = {{\n    {body}\n}};\n"


def header_values(model: QuantizedModel) -> dict:
    height, width = model.data.input_size
    return {"input_height": height, "input_width": width, "num_classes": model.num_classes}


def prepare_values(model: QuantizedModel) -> tuple[str, dict]:
    """(template name, its fields) for the model's geometry."""
    p = plan(model.data.input_size)
    background = model.data.background
    values = {"height": p.height, "width": p.width, "top": p.top, "bottom": p.top + p.out_h, "left": p.left,
              "right": p.left + p.out_w, "bottom_last": p.top + p.out_h - 1, "right_last": p.left + p.out_w - 1,
              "background": background, "background_q": background - 128}
    if p.down > 1:
        return "prepare_shrink.c", dict(values, down=p.down, block=p.block, half=p.block // 2)
    row, col = ("(y - %d)" % p.top, "(x - %d)" % p.left)
    if p.up > 1:
        row, col = f"({row} / {p.up})", f"({col} / {p.up})"
        how = f"each pixel repeated {p.up}x{p.up} (nearest neighbour)"
    else:
        how = "placed as is"
    return "prepare_place.c", dict(values, row=row, col=col, how=how)
