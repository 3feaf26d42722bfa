"""The stack report's call-graph analysis (firmware_export/memory.py) on hand-written disassembly."""

from __future__ import annotations

import pytest

from firmware_export.memory import deepest_chain, parse_disassembly, stack_usage

DISASSEMBLY = """
00008000 <leaf>:
    8000:	push	{r4, r5, r6, r7, lr}
    8002:	sub	sp, #60	@ 0x3c
    8004:	b.n	8000 <leaf>
00008010 <helper.isra.0>:
    8010:	push	{r4, lr}
    8012:	bl	8000 <leaf>
    8014:	bne.n	8012 <helper.isra.0+0x2>
00008020 <lib_copy>:
    8020:	stmdb	sp!, {r4, r5, r6, r7, r8, lr}
    8024:	vpush	{d8-d9}
    8028:	sub.w	sp, sp, #256	@ 0x100
00008030 <root>:
    8030:	push	{r4, lr}
    8032:	bl	8010 <helper.isra.0>
    8036:	bl	8020 <lib_copy>
    803a:	b.w	8000 <leaf>
"""


def test_frames_and_calls_from_disassembly():
    functions = parse_disassembly(DISASSEMBLY)
    assert functions["leaf"].frame == 20 + 60 and functions["leaf"].calls == set()  # a branch to itself: a loop
    assert functions["lib_copy"].frame == 24 + 16 + 256
    assert functions["root"].calls == {"helper.isra.0", "lib_copy", "leaf"}


def test_deepest_chain_prefers_stack_usage_frames():
    functions = parse_disassembly(DISASSEMBLY)
    su = stack_usage("e.c:3:5:helper.isra\t500\tstatic\ne.c:9:5:root\t8\tstatic\n")
    assert deepest_chain("root", functions, su) == (8 + 500 + 80, ["root", "helper.isra.0", "leaf"])
    assert deepest_chain("root", functions, {}) == (8 + 296, ["root", "lib_copy"])


def test_unbounded_stacks_are_errors():
    with pytest.raises(RuntimeError, match="dynamic"):
        stack_usage("e.c:3:5:f\t16\tdynamic,bounded\n")
    looping = parse_disassembly(DISASSEMBLY + "    803e:\tbl\t8030 <root>\n")
    with pytest.raises(RuntimeError, match="recursion: root -> root"):
        deepest_chain("root", looping, {})
    indirect = parse_disassembly(DISASSEMBLY.replace("bl\t8000 <leaf>", "blx\tr3"))
    with pytest.raises(RuntimeError, match="indirect call"):
        deepest_chain("root", indirect, {})
