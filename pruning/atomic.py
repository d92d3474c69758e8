"""Write a file whole or not at all (temp file beside it, fsync, rename, fsync the folder)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str | None = None,
                 mode: int | None = None) -> Path:
    """Let ``write(tmp)`` fill a temporary file beside ``path``, then move it into place.

    The file is fsynced before the rename and the folder after it, so after a crash ``path``
    holds the old content or the new, never half of it. ``suffix`` is the temporary file's
    (writers like Keras insist on theirs; default ``path``'s own); ``mode`` its permissions
    (default the 0600 of ``mkstemp``). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix if suffix is None else suffix,
                                dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
