"""Where a command's time goes: :class:`Stopwatch`, the stage timings of ``pymc-hier run``.

``pymc-hier run`` times each of its stages (wall-clock and CPU seconds of this process)
and writes them to ``timings.json`` in its folder; ``--timings`` prints them as well. The
time before the first stage (starting Python and importing the command line) is
measured from the process's start time where the system tells it (Linux).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

__all__ = ["Stopwatch", "process_age"]


def process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - start, 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Stopwatch:
    """Wall-clock and CPU seconds of named stages, in the order they ran.

    ``with watch("sampling"):`` times one stage; a stage entered again adds to its time.
    The first stage's start is the end of ``"startup"``: the process's age then (Python,
    imports and argument parsing), when known.
    """

    def __init__(self):
        self.stages: dict[str, dict[str, float]] = {}
        self._startup = None

    @contextmanager
    def __call__(self, name: str):
        """Time the block as stage ``name``."""
        if self._startup is None:
            self._startup = process_age() or float("nan")
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self._add(name, time.perf_counter() - wall, time.process_time() - cpu)

    def _add(self, name: str, wall: float, cpu: float, *, parallel: bool = False) -> None:
        row = self.stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
        row["wall_s"] += wall
        row["cpu_s"] += cpu
        if parallel:
            row["parallel"] = True

    def add_all(self, timings, *, parallel: bool = False) -> None:
        """Add stages timed elsewhere: ``{name: (wall seconds, CPU seconds)}``.

        ``parallel=True`` marks stages that ran in another process alongside this one's
        (:mod:`pymc_hier.background`): listed, with ``"parallel": true``, but left out of
        the totals, whose wall time they overlap.
        """
        if self._startup is None:
            self._startup = process_age() or float("nan")
        for name, (wall, cpu) in timings.items():
            self._add(name, wall, cpu, parallel=parallel)

    def to_dict(self) -> dict:
        """Return the timings as plain data (``timings.json``).

        ``stages_wall_s`` and ``total_wall_s`` add up this process's stages (not those
        marked ``"parallel"``).
        """
        startup = self._startup if self._startup is not None else float("nan")
        stages = {k: {m: v if isinstance(v, bool) else round(v, 4) for m, v in row.items()}
                  for k, row in self.stages.items()}
        total = sum(row["wall_s"] for row in self.stages.values() if not row.get("parallel"))
        return {"startup_s": None if startup != startup else round(startup, 4),
                "stages": stages, "stages_wall_s": round(total, 4),
                "total_wall_s": None if startup != startup else round(startup + total, 4),
                "cpu_count": os.cpu_count(), "load_average": list(_loadavg())}

    def table(self) -> str:
        """Return the timings as a small text table (``--timings``)."""
        d = self.to_dict()
        lines = [f"{'stage':<28}{'wall s':>8}{'cpu s':>8}"]
        if d["startup_s"] is not None:
            lines.append(f"{'startup (Python, imports)':<28}{d['startup_s']:>8.2f}{'':>8}")
        for name, row in d["stages"].items():
            label = f"{name} (in parallel)" if row.get("parallel") else name
            lines.append(f"{label:<28}{row['wall_s']:>8.2f}{row['cpu_s']:>8.2f}")
        total = d["total_wall_s"] if d["total_wall_s"] is not None else d["stages_wall_s"]
        lines.append(f"{'total':<28}{total:>8.2f}")
        return "\n".join(lines)

    def write(self, path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)
            f.write("\n")


def _loadavg() -> tuple[float, ...]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()
