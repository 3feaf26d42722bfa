"""Crash-safe output files: write to a unique temporary file beside the target, fsync, then rename.

A reader (or a `kill -9` at any moment) therefore sees either the previous file or the complete new one.
The temporary name is unique per call, so concurrent writers into one directory never share a temp file.
Outputs never destroy data: a target that is a directory, a device, a FIFO or a socket is refused (a
rename would replace /dev/null with a regular file), and `refuse_inputs` refuses an output that is one of
the command's own inputs. Write errors (disk full, file too large, permission denied) are UserErrors.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterable, Iterator

from edgelenet.errors import UserError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done (a cleanup must not be cut short by the exception
    their handlers raise); they are delivered right after. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def os_error(action: str, path: Path | str, exc: OSError) -> UserError:
    """One line for an OSError: permission denied, disk full and the rest named as such."""
    reason = {errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
              errno.ENOSPC: "no space left on the device", errno.EFBIG: "file too large (size limit)",
              errno.EROFS: "read-only file system", errno.EDQUOT: "disk quota exceeded"}.get(
        exc.errno, exc.strerror or str(exc))
    return UserError(f"cannot {action} {path}: {reason}")


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) or raise a UserError that names it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"output directory {path} exists and is not a directory") from None
    except OSError as exc:
        raise os_error("create output directory", path, exc) from None
    if not os.access(path, os.W_OK):
        raise UserError(f"output directory {path}: permission denied")
    return path


def check_output_file(target: Path) -> Path:
    """Refuse a target that exists and is not a regular file (a directory, device, FIFO or socket)."""
    target = Path(target)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise os_error("write", target, exc) from None
    if stat.S_ISDIR(mode):
        raise UserError(f"output {target} is a directory; give a file name")
    if not stat.S_ISREG(mode):
        raise UserError(f"output {target} is not a regular file (a device, FIFO or socket); refusing to replace it")
    return target


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def refuse_inputs(output: Path, inputs: Iterable[Path | None], directory: bool = False) -> None:
    """Refuse an output that is one of the command's inputs, or (directory=True: an output folder that is
    replaced as a whole) contains one."""
    output = Path(output)
    for source in filter(None, inputs):
        source = Path(source)
        inside = directory and Path(os.path.realpath(source)).is_relative_to(os.path.realpath(output))
        if _same(output, source) or inside:
            what = "contains" if inside and not _same(output, source) else "is"
            raise UserError(f"output {output} {what} the input {source}; choose another output path")


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success it replaces `target` atomically."""
    target = check_output_file(Path(target))
    ensure_dir(target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise os_error("write into", target.parent, exc) from None
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual permissions
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        check_output_file(target)  # again: the target may have changed while the output was computed
        os.replace(tmp, target)
    except OSError as exc:
        raise os_error("write", target, exc) from None
    finally:
        with signals_deferred():
            tmp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: Path, text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))


# ---- whole directories, swapped in with one rename -------------------------------------------------------

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):   # a libc without renameat2 (glibc < 2.28, musl < 1.2)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):   # kernel or file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_tree(source: Path, target: Path) -> None:
    """Mirror `source` into the empty directory `target` with hard links (copies where links fail), so files
    the export does not write survive the swap; a device, FIFO or socket inside is refused."""
    for root, dirs, names in os.walk(source):
        here = target / Path(root).relative_to(source)
        for name in dirs + names:
            src, dst = Path(root, name), here / name
            mode = os.lstat(src).st_mode
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISDIR(mode):
                dst.mkdir()
                os.chmod(dst, stat.S_IMODE(mode))
            elif stat.S_ISREG(mode):
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
            else:
                raise UserError(f"output directory {source} holds {src}, not a regular file; refusing to replace it")
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        raise UserError(f"{path} is a directory in the output; cannot write the file of that name")
    path.unlink(missing_ok=True)  # maybe a hard link to the previous export's file: never write through it
    with open(path, "xb") as handle:
        handle.write(data)
        os.fsync(handle.fileno())


def replace_tree(files: dict[str, bytes], out: Path) -> list[Path]:
    """Write `files` (relative path -> bytes) into OUT all or nothing.

    A staging copy of OUT (hard links) receives the new files, then one atomic rename exchange swaps it with
    OUT: a kill at any moment leaves the previous OUT or the complete new one (plus, at worst, a hidden
    `.OUT.*.tmp` sibling). Without renameat2, OUT is renamed aside and the new tree renamed in: a kill
    between those two renames leaves both trees inside the hidden sibling and no OUT.
    """
    out = Path(out)
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    if out.exists() and not out.is_dir():
        raise UserError(f"output {out} exists and is not a directory")
    ensure_dir(out.parent)
    if out.exists() and not os.access(out, os.W_OK):
        raise UserError(f"output directory {out}: permission denied")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise os_error("write beside", out, exc) from None
    try:
        tree = staging / "new"
        tree.mkdir()   # made by mkdir, so it gets the user's umask (mkdtemp's is 0700)
        if out.exists():
            os.chmod(tree, stat.S_IMODE(os.stat(out).st_mode))
            _link_tree(out, tree)
        for name in sorted(files):
            _write_new(tree / name, files[name])
        with signals_deferred():   # the swap and its fallback's two renames complete together
            if not out.exists():
                os.rename(tree, out)
            elif not exchange(tree, out):
                os.rename(out, staging / "old")
                os.rename(tree, out)
    except OSError as exc:
        raise os_error("write", out, exc) from None
    finally:
        with signals_deferred():
            shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in sorted(files)]
