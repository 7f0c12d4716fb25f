"""Stopwatch: stage timings of ``pymc-hier run`` (issue 22)."""

import json
import time

import pytest

from pymc_hier.timings import Stopwatch, process_age


def test_stages_add_up_in_order_and_round_trip(tmp_path):
    watch = Stopwatch()
    with watch("b"):
        time.sleep(0.02)
    with watch("a"):
        pass
    with watch("b"):  # entered again: adds to its time
        time.sleep(0.02)
    d = watch.to_dict()
    assert list(d["stages"]) == ["b", "a"]
    assert d["stages"]["b"]["wall_s"] >= 0.04
    assert d["stages"]["a"]["wall_s"] < d["stages"]["b"]["wall_s"]
    watch.write(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())["stages"] == d["stages"]
    assert watch.table().splitlines()[-1].startswith("total")


def test_a_failing_stage_is_still_timed():
    watch = Stopwatch()
    with pytest.raises(RuntimeError), watch("boom"):
        raise RuntimeError("x")
    assert "boom" in watch.to_dict()["stages"]


def test_process_age_is_positive_and_grows():
    first = process_age()
    if first is None:
        pytest.skip("no /proc on this system")
    time.sleep(0.05)
    assert 0 < first < process_age()


def test_stages_run_elsewhere_are_listed_but_not_added_to_the_totals():
    watch = Stopwatch()
    with watch("here"):
        time.sleep(0.02)
    watch.add_all({"sweep": (5.0, 4.5)}, parallel=True)
    watch.add_all({"pgm": (0.25, 0.25)})  # timed elsewhere, but not alongside: counted
    d = watch.to_dict()
    assert d["stages"]["sweep"] == {"wall_s": 5.0, "cpu_s": 4.5, "parallel": True}
    assert "parallel" not in d["stages"]["pgm"]
    assert d["stages_wall_s"] == pytest.approx(d["stages"]["here"]["wall_s"] + 0.25, abs=1e-3)
    assert d["stages_wall_s"] < 5.0
    assert "sweep (in parallel)" in watch.table()
