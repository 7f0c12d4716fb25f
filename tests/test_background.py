"""Steps in a forked process (pymc_hier.background): results, errors, a dead process."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pymc_hier.background import can_fork, start

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


@pytest.mark.parametrize("parallel", [pytest.param(True, marks=needs_fork), False])
def test_steps_run_in_order_and_return_their_results(parallel, tmp_path):
    log = tmp_path / "log"

    def step(name, value):
        def run():
            with open(log, "a") as f:
                f.write(f"{name} {os.getpid()}\n")
            return value
        return run

    with start({"a": step("a", [1, 2]), "b": step("b", {"x": 3.5})},
               parallel=parallel) as side:
        assert side.parallel is parallel
        assert side.result("b") == {"x": 3.5}
        assert side.result("a") == [1, 2]
    lines = log.read_text().split()
    assert lines[0::2] == ["a", "b"]
    # forked: another process did the work; not: this one, before start returned
    assert (int(lines[1]) != os.getpid()) is parallel
    assert set(side.timings) == {"a", "b"}
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in side.timings.values())


@pytest.mark.parametrize("parallel", [pytest.param(True, marks=needs_fork), False])
def test_a_failed_step_raises_its_error_and_stops_the_later_ones(parallel, tmp_path):
    def bad():
        raise ValueError("values: n0_max=-1: must be > 0")

    def later():
        (tmp_path / "ran").touch()

    with start({"check": bad, "later": later}, parallel=parallel) as side:
        with pytest.raises(ValueError, match="^values: n0_max=-1: must be > 0") as err:
            side.result("later")
        assert str(err.value) == "values: n0_max=-1: must be > 0"  # the message as raised
        with pytest.raises(ValueError, match="n0_max=-1"):
            side.result("check")
        with pytest.raises(KeyError, match="no step 'other'"):
            side.result("other")
    assert not (tmp_path / "ran").exists()
    if parallel:  # where it was raised stays readable
        assert "background process" in "".join(err.value.__notes__)


@needs_fork
def test_a_process_that_dies_is_an_error_not_a_hang():
    with start({"a": lambda: 1, "dies": lambda: os._exit(3), "b": lambda: 2}) as side:
        assert side.result("a") == 1
        with pytest.raises(RuntimeError, match=r"ended \(exit code 3\) before reporting"):
            side.result("b")
        with pytest.raises(RuntimeError, match="exit code 3"):
            side.result("dies")


@needs_fork
def test_a_result_that_cannot_be_sent_back_is_an_error():
    with start({"lambda": lambda: (lambda: 1)}) as side, \
            pytest.raises(RuntimeError, match="step 'lambda': its result could not be sent"):
        side.result("lambda")


@needs_fork
def test_leaving_the_block_stops_a_step_still_running(tmp_path):
    def slow():
        time.sleep(60)
        (tmp_path / "finished").touch()

    began = time.perf_counter()
    with start({"slow": slow}) as side:
        process = side._process
        assert process.is_alive()
    assert not process.is_alive()
    assert time.perf_counter() - began < 30
    assert not (tmp_path / "finished").exists()


@needs_fork
def test_the_forked_process_collects_only_its_own_garbage():
    """What the fork inherited is frozen there (a collection would copy the whole heap);
    here, the collector is as before."""
    import gc

    assert gc.get_freeze_count() == 0
    with start({"frozen": gc.get_freeze_count}) as side:
        assert gc.get_freeze_count() == 0
        frozen_there = side.result("frozen")
    assert frozen_there >= len(gc.get_objects()) // 2 > 0


@needs_fork
def test_a_large_result_does_not_hold_up_the_next_step(tmp_path):
    """Results leave the pipe as they come: the step after a result larger than the pipe
    runs before that result is asked for."""
    marker = tmp_path / "next step ran"
    with start({"large": lambda: b"x" * (16 << 20), "next": marker.touch}) as side:
        waited = 0.0
        while not marker.exists() and waited < 60:  # a bound, not a speed target
            time.sleep(0.05)
            waited += 0.05
        assert marker.exists()
        assert len(side.result("large")) == 16 << 20
        side.result("next")


@needs_fork
def test_leaving_the_block_does_not_wait_for_a_pipe_held_open_elsewhere(tmp_path):
    """A process the step forked keeps the pipe open after the step's process is gone:
    leaving the block still returns (the results not received are lost, as documented)."""
    pid_file = tmp_path / "holder"

    def start_a_holder():
        holder = os.fork()  # a copy: every open descriptor, the pipe's included
        if holder == 0:
            time.sleep(60)
            os._exit(0)
        pid_file.write_text(str(holder))
        time.sleep(60)

    began = time.perf_counter()
    try:
        with start({"holder": start_a_holder}) as side:
            while not pid_file.exists() and time.perf_counter() - began < 30:
                time.sleep(0.05)
            assert side._process.is_alive()
        assert time.perf_counter() - began < 30  # a bound, not a speed target
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no os.nice on this platform")
def test_the_forked_process_runs_at_the_lower_priority_asked_for():
    if not can_fork():
        pytest.skip("no fork on this platform")
    here = os.nice(0)
    with start({"niceness": lambda: os.nice(0)}, nice=5) as side:
        assert side.result("niceness") == min(here + 5, 19)
    with start({"niceness": lambda: os.nice(0)}) as side:
        assert side.result("niceness") == here
    assert os.nice(0) == here   # this process keeps its own
