"""One progress display, shared: a long command (`edgelenet run`) opens it, and every step inside (training,
validation) adds its own bars to it instead of starting a second live display, which rich does not allow."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_active: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("edgelenet_progress", default=None)


@contextlib.contextmanager
def progress_bar(console: Console | None = None, transient: bool = False, disable: bool = False) -> Iterator[Progress]:
    """The display already open in this context, or a new one (description, bar, done/total, elapsed)."""
    shared = _active.get()
    if shared is not None:
        yield shared
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console or Console(stderr=True), transient=transient, disable=disable)
    token = _active.set(progress)
    try:
        with progress:
            yield progress
    finally:
        _active.reset(token)
