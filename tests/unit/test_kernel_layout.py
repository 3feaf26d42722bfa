"""The kernels read one path at a time (firmware_export/kernels/): one function per op, every path inside
it, and no macro defined inside a function body."""

from __future__ import annotations

import re
from importlib import resources

KERNELS = resources.files("firmware_export") / "kernels"
OPS = {"eln_conv_maxpool_s8.c": "eln_conv_maxpool_s8", "eln_conv_subsample_s8.c": "eln_conv_subsample_s8",
       "eln_fc_s8.c": "eln_fc_s8"}


def defines_inside_functions(text: str) -> list[int]:
    """Line numbers of #define directives at brace depth > 0 (strings and comments ignored)."""
    found, depth, continued = [], 0, False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if continued or stripped.startswith("#"):
            if not continued and re.match(r"#\s*define\b", stripped) and depth > 0:
                found.append(number)
            continued = stripped.endswith("\\")
            continue
        code = re.sub(r'"(?:[^"\\]|\\.)*"|/\*.*?\*/|//.*', "", line)
        depth += code.count("{") - code.count("}")
    return found


def test_the_check_finds_a_define_in_a_body():
    assert defines_inside_functions("void f(void)\n{\n#define X 1\n}\n") == [3]
    assert defines_inside_functions("#define Y(a) \\\n    { a; }\nvoid f(void)\n{\n}\n") == []


def test_no_kernel_defines_a_macro_inside_a_function():
    for path in KERNELS.iterdir():
        assert defines_inside_functions(path.read_text()) == [], path.name


def test_each_op_is_one_function_with_every_path():
    for name, function in OPS.items():
        text = (KERNELS / name).read_text()
        assert len(re.findall(rf"^ELN_KERNEL void {function}\(", text, re.M)) == 1, name
        for path in ("ELN_MVE", "ELN_DSP", "ELN_THUMB"):
            assert f"defined({path})" in text, (name, path)
