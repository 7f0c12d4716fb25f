"""Let nutpie's worker threads finish before the interpreter exits.

When nutpie fails to initialise a chain (``RuntimeError: All initialization points
failed``), ``nutpie.sample`` raises at once, but its Rust worker threads are still
winding down the other chains for up to a few hundred milliseconds, and each one takes the
GIL once more to drop its Python objects. If the interpreter is finalising by then, the
thread is killed inside ``PyGILState_Ensure`` (``pthread_exit`` unwinding through Rust
frames) and the process dies with a segmentation fault (exit status 139) after everything
else went well (nutpie 0.16.11, CPython 3.12; the threads are named ``nutpie-worker-*``).

:func:`settle` waits until no such thread is left; it is registered with :mod:`atexit`
when pymc_hier is imported, and :func:`pymc_hier.fit` calls it when nutpie fails.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path

__all__ = ["BLIND_WAIT", "nutpie_threads", "settle"]

_TASKS = Path("/proc/self/task")
#: Seconds :func:`settle` waits after a failure where threads cannot be listed (no /proc).
BLIND_WAIT = 0.5


def nutpie_threads() -> int | None:
    """Return the number of nutpie worker threads alive (None: cannot tell)."""
    if not _TASKS.is_dir():
        return None
    count = 0
    for task in _TASKS.iterdir():
        try:
            if (task / "comm").read_text().startswith("nutpie"):
                count += 1
        except OSError:  # the thread ended meanwhile
            continue
    return count


def settle(timeout: float = 10.0, *, failed: bool = False) -> None:
    """Wait (releasing the GIL) until nutpie's worker threads have exited, or ``timeout``.

    Where threads cannot be listed (no ``/proc``), waits :data:`BLIND_WAIT` seconds if
    ``failed`` (called right after a failed ``nutpie.sample``), else returns at once.
    """
    import sys

    if "nutpie" not in sys.modules:
        return
    deadline = time.monotonic() + timeout
    while True:
        alive = nutpie_threads()
        if alive is None:
            if failed:
                time.sleep(BLIND_WAIT)
            return
        if alive == 0 or time.monotonic() > deadline:
            return
        time.sleep(0.02)


atexit.register(settle)
