"""edgelenet's cache folder, and a small JSON cache for results that are expensive to recompute.

The folder is `$EDGELENET_CACHE`, or `~/.cache/edgelenet` when that is unset or empty (never the current
folder). A cached result is a file named by the SHA-256 of everything it depends on; it is written
atomically, and read back as untrusted input: anything that is not what `valid` accepts is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from edgelenet.errors import UserError
from edgelenet.fileio import write_text_atomic

MAX_ENTRY_BYTES = 1 << 20


def cache_dir() -> Path:
    return Path(os.environ.get("EDGELENET_CACHE") or Path.home() / ".cache" / "edgelenet")  # "" means unset


def cached_json(kind: str, key: list[str], compute: Callable[[], dict], valid: Callable[[dict], bool]) -> dict:
    """compute(), or its earlier result for the same `key` (a list of strings: inputs, tool versions, flags)."""
    digest = hashlib.sha256("\0".join([kind, *key]).encode()).hexdigest()
    path = cache_dir() / kind / f"{digest}.json"
    try:
        if path.is_file() and path.stat().st_size <= MAX_ENTRY_BYTES:
            entry = json.loads(path.read_text())
            if isinstance(entry, dict) and valid(entry):
                return entry
    except (OSError, ValueError, RecursionError):
        pass  # unreadable or damaged: recompute and overwrite
    result = compute()
    try:
        write_text_atomic(path, json.dumps(result, sort_keys=True))
    except (UserError, OSError):  # a read-only or full cache never fails the command that uses it
        pass
    return result
