"""Explaining shared with a forked copy of the process gives the alerts explaining here gives;
a copy that fails, or that cannot be made safely, leaves the work to this process."""

import os
import sys
import threading

import pytest
from test_episodes import PACK, SEEDS, region

from noncoop.engine import evaluate as evaluate_module
from noncoop.engine import forked
from noncoop.engine.evaluate import evaluate_timeline
from noncoop.engine.forked import both

linux = pytest.mark.skipif(sys.platform != "linux", reason="forked only on Linux")


@pytest.fixture
def alone(monkeypatch):
    """The copy's machinery, whatever threads earlier tests left in this process (a Spark
    session's, in a test worker that ran one): the pieces here touch no lock such a thread could
    hold. Whether another thread stops the copy is tested below, with one of its own."""
    monkeypatch.setattr(forked, "forkable", lambda: True)


@linux
def test_the_other_piece_is_worked_out_in_a_copy_and_comes_back(alone):
    here = os.getpid()
    mine, theirs = both(lambda: os.getpid(), lambda: {"pid": os.getpid(), "text": "é" * 3})
    assert mine == here
    assert theirs["pid"] != here and theirs["text"] == "ééé"


@linux
def test_a_copy_that_dies_leaves_its_piece_to_this_process(alone):
    here = os.getpid()
    # Dies in the copy (as a copy killed for memory would); answers here.
    dying = lambda: os.getpid() if os.getpid() == here else os._exit(3)  # noqa: E731
    assert both(lambda: "mine", dying) == ("mine", here)


@linux
def test_a_failure_here_stops_the_copy_and_is_raised(alone, monkeypatch):
    def failing():
        raise ValueError("here")

    copies, fork = [], os.fork
    monkeypatch.setattr(os, "fork", lambda: copies.append(fork()) or copies[-1])
    with pytest.raises(ValueError, match="here"):
        both(failing, lambda: "theirs")
    assert len(copies) == 1
    with pytest.raises(ChildProcessError):  # the copy was collected: it is no longer a child
        os.waitpid(copies[0], os.WNOHANG)


def test_with_another_thread_running_both_pieces_are_worked_out_here():
    """A copy could inherit a lock another thread holds: no copy is made."""
    here, stop = os.getpid(), threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert both(lambda: 1, lambda: os.getpid()) == (1, here)
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize("seed", SEEDS)
def test_alerts_explained_with_a_copy_are_those_explained_here(monkeypatch, seed):
    tl = region(seed)[2][-1]
    here = evaluate_timeline(tl, PACK, "python", history=True, threads=1)
    monkeypatch.setattr(evaluate_module, "FORK_FROM", 0)
    shared = evaluate_timeline(tl, PACK, "python", history=True, threads=2)
    assert here.alerts and here.folded
    assert shared.alerts == here.alerts
    assert shared.folded == here.folded


@linux
def test_a_copy_that_cannot_be_made_leaves_both_pieces_here(alone, monkeypatch):
    """No memory or processes left for a copy: both pieces are worked out here, and the pipe
    made for the copy is closed again."""

    def refused():
        raise OSError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", refused)
    assert both(lambda: 1, lambda: os.getpid()) == (1, os.getpid())
    assert len(os.listdir("/proc/self/fd")) == before
