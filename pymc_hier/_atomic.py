"""Writing files and folders so that a failure, or a killed process, leaves nothing half-done.

Everything is first written under a hidden name beside its target (same folder, hence the
same file system), owned by this process: ``.NAME.pymc-hier-tmp-PID-TOKEN.SUFFIX``. Only a
finished result is renamed into place: :func:`os.replace` for a file (atomic), and for a
folder the old one is first renamed aside (``.NAME.pymc-hier-old-...``) and removed once
the new one is in place. Leftovers of killed processes are removed by the next writer of
the same target (never those of a process still running).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

__all__ = ["TAG", "make_parents", "remove", "remove_stale", "replace", "sibling"]

#: Marks the hidden names beside a target.
TAG = ".pymc-hier-"


def sibling(path: Path, kind: str) -> Path:
    """Return a hidden name beside ``path``, owned by this process (same suffix and disk)."""
    token = uuid.uuid4().hex[:8]
    return path.with_name(f".{path.name}{TAG}{kind}-{os.getpid()}-{token}{path.suffix}")


def remove_stale(path: Path) -> None:
    """Remove what killed processes left beside ``path`` (never a live process's)."""
    if not path.parent.is_dir():
        return
    for kind in ("tmp", "old"):
        for stale in path.parent.glob(f".{path.name}{TAG}{kind}-*"):
            pid = stale.name.split(f"{TAG}{kind}-", 1)[1].split("-", 1)[0]
            if kind == "tmp" and pid.isdigit() and not _alive(int(pid)):
                remove(stale)
            elif kind == "old" and path.exists() and pid.isdigit() and not _alive(int(pid)):
                remove(stale)  # the new version made it into place


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove(path: Path) -> None:
    """Remove a file or a folder (quietly)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path``: atomically for a file; a folder's old version set aside.

    Between the two renames of a folder a killed process leaves the old version under
    ``.NAME.pymc-hier-old-...`` beside ``path`` (the only moment ``path`` is missing).
    """
    if not (tmp.is_dir() and path.exists()):
        os.replace(tmp, path)
    else:
        old = sibling(path, "old")
        os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old, path)
            raise
        remove(old)
    fsync(path.parent)


def fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder's entries) to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_parents(path: Path) -> list[Path]:
    """Create ``path``'s missing folders (``path`` included); return those created, deepest last.

    Raises
    ------
    OSError
        When one cannot be created; those created so far are removed again.
    """
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    created = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder)
    except BaseException:
        remove_created(created)
        raise
    return created


def remove_created(created: list[Path]) -> None:
    """Remove the folders :func:`make_parents` created, when empty (deepest first)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass
