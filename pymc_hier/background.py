"""Steps that run in a second process while this one goes on: :func:`start`.

``pymc-hier run`` has work that needs no fit: the prior draws and the exact prior sweep. On a
machine with two cores they run in a forked copy of the process (the model, data and
imports are already there: nothing is pickled on the way in) while this process compiles
the model and samples; each step's result comes back through a pipe when it is done.

Where ``fork`` is not the platform's way to start processes safely (Windows, macOS) or
with ``parallel=False``, :func:`start` runs the steps at once, in this process, in order:
the results are the same either way, only the waiting differs.

>>> from pymc_hier.background import start
>>> with start({"square": lambda: 3 * 3}, parallel=False) as side:
...     side.result("square")
9
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping

__all__ = ["Background", "can_fork", "start"]


def can_fork() -> bool:
    """Whether steps can run in a forked process here (Linux and other non-macOS POSIX)."""
    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


def start(steps: Mapping[str, Callable[[], object]], *, parallel: bool = True,
          nice: int = 0) -> Background:
    """Run ``steps`` (name: function of no arguments) in order, in a forked process.

    Parameters
    ----------
    steps : mapping of str to callable
        The steps, run one after the other; a step that raises ends the run (the steps
        after it do not run, and asking for their results raises the same error).
    parallel : bool, default True
        Fork where the platform allows it (:func:`can_fork`); False runs the steps here
        and now.
    nice : int, default 0
        How much lower the forked process's scheduling priority is (``os.nice``; Unix):
        work wanted later yields the cores to this process's, which is waited for first.

    Returns
    -------
    Background
        Use it as a context manager (leaving the block stops a process still running) and
        ask for each step's result with :meth:`Background.result`.
    """
    return Background(dict(steps), parallel=parallel and can_fork(), nice=nice)


class Background:
    """Steps running elsewhere (or already run here); see :func:`start`.

    Attributes
    ----------
    timings : dict
        ``{step: (wall seconds, CPU seconds)}`` of each finished step, as measured where it
        ran.
    parallel : bool
        Whether the steps run in a forked process.
    """

    def __init__(self, steps: dict[str, Callable[[], object]], *, parallel: bool,
                 nice: int = 0):
        self.parallel = parallel
        self.timings: dict[str, tuple[float, float]] = {}
        self._names = list(steps)
        self._done: dict[str, tuple[bool, object]] = {}
        self._process = self._conn = self._receiver = None
        self._changed = threading.Condition()
        self._closing = threading.Event()
        if not parallel:
            for name, step in steps.items():
                ok, value, wall, cpu = _timed(step)
                self._record(name, ok, value, wall, cpu)
                if not ok:
                    break
            return
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe(duplex=False)
        self._process = context.Process(target=_run_steps, args=(steps, child, nice),
                                        daemon=True, name="pymc-hier-background")
        # the forked copy's collections skip what it inherited: a full collection would
        # walk (and, writing their headers, copy) every object of this process's heap
        gc.freeze()
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        child.close()
        # results are taken off the pipe as they come: a large one would otherwise hold
        # the process up, writing into a full pipe, until it is asked for
        self._receiver = threading.Thread(target=self._receive_all, daemon=True,
                                          name="pymc-hier-background-results")
        self._receiver.start()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the process if it still runs (results not yet received are lost)."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._process.terminate()
        self._closing.set()
        self._receiver.join()
        self._process.join()
        self._conn.close()
        self._process = None

    def _record(self, name, ok, value, wall, cpu) -> None:
        with self._changed:
            self._done[name] = (ok, value)
            self.timings[name] = (wall, cpu)
            self._changed.notify_all()

    def _receive_all(self) -> None:
        """Receive every step's message (in a thread); a process gone early fails the rest.

        It stops at the end of the pipe, or within 0.1 s of :meth:`close` (the pipe may
        stay open after the process ends, held by a process it started).
        """
        while not self._closing.is_set():
            try:
                if not self._conn.poll(0.1):
                    continue
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            self._record(*message)
        if self._closing.is_set() or set(self._names) <= set(self._done):
            return
        self._process.join()  # here only: close() waits for this thread before joining
        with self._changed:
            err = self._failure() or RuntimeError(
                f"the background process ended (exit code {self._process.exitcode}) "
                "before reporting every step")
            for name in self._names:
                self._done.setdefault(name, (False, err))
            self._changed.notify_all()

    def _failure(self) -> BaseException | None:
        """Return the error of the first step reported failed (hold ``_changed``), or None."""
        return next((value for ok, value in self._done.values() if not ok), None)

    def result(self, name: str):
        """Return the result of step ``name``, waiting for it; raise the error it raised.

        A step after a failed one raises the failed step's error.
        """
        if name not in self._names:
            raise KeyError(f"name: no step {name!r} (steps: {', '.join(self._names)})")
        with self._changed:
            while name not in self._done:
                if (failed := self._failure()) is not None:
                    raise failed
                if self._receiver is None:  # pragma: no cover - the steps stopped early
                    raise RuntimeError(f"step {name!r} did not run")
                self._changed.wait()
            ok, value = self._done[name]
        if not ok:
            raise value
        return value


def _timed(step, *, forked: bool = False) -> tuple[bool, object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        value, ok = step(), True
    except Exception as err:  # noqa: BLE001 - reported to the caller, who raises it
        value, ok = err, False
        if forked:  # the traceback, lost on the way back, stays readable
            err.add_note("raised in pymc_hier's background process:\n"
                         + "".join(traceback.format_tb(err.__traceback__)))
    return ok, value, time.perf_counter() - wall, time.process_time() - cpu


def _run_steps(steps, conn, nice=0) -> None:  # pragma: no cover - in the forked process
    """Run each step (in the forked process); send ``(name, ok, value, wall, cpu)``.

    Ctrl-C is left to the parent, which stops this process (no second traceback); on
    Linux this process is killed when the parent dies (a killed ``pymc-hier run`` leaves
    nothing writing into its folder). ``nice`` lowers its priority first (where the
    platform has ``os.nice``).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    for name, step in steps.items():
        ok, value, wall, cpu = _timed(step, forked=True)
        try:
            conn.send((name, ok, value, wall, cpu))
        except Exception as err:  # noqa: BLE001 - a result or error that does not pickle
            ok = False
            conn.send((name, False, RuntimeError(f"step {name!r}: its result could not be "
                                                 f"sent back ({err})"), wall, cpu))
        if not ok:
            break
    conn.close()


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked process
    """Ask Linux to kill this process when its parent dies; exit if it is gone already."""
    parent = multiprocessing.parent_process()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent stops it when it can
        return
    if parent is not None and not parent.is_alive():
        os._exit(1)
