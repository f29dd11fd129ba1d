"""Settings noncoop makes for its own process when it is imported."""

import os
import subprocess
import sys

import pytest

ASK = (
    "import noncoop, numpy, os; "
    "print(os.environ['NUMPY_MADVISE_HUGEPAGE'], numpy._core.multiarray._get_madvise_hugepage())"
)


# numpy itself gives no advice on kernels before 4.6, whatever is asked: only ours is checked there.
@pytest.mark.parametrize(("given", "expected"), [(None, "0 False"), ("1", "1")])
def test_huge_page_advice_is_off_unless_asked_for(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    done = subprocess.run(
        [sys.executable, "-c", ASK], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith(expected)


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_numpys_linear_algebra_runs_on_one_thread_unless_asked(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    ask = "import noncoop, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    done = subprocess.run(
        [sys.executable, "-c", ask], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == expected


def test_the_command_keeps_what_its_imports_made_out_of_the_collectors_walks():
    ask = (
        "import gc, sys; from noncoop.cli.app import run; sys.argv = ['noncoop', '--version']\n"
        "try:\n    run()\nexcept SystemExit:\n    print(gc.get_freeze_count() > 10000)"
    )
    done = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("True")


def collections_after(entry: str) -> tuple[bool, int]:
    """Whether the collector is on once the command (`entry`, to import as `go`) has started,
    and how many collections ran by then."""
    ask = (
        f"import gc, sys\n{entry}\nsys.argv = ['noncoop', '--version']\n"
        "try:\n    go()\nexcept SystemExit:\n"
        "    print(gc.isenabled(), sum(s['collections'] for s in gc.get_stats()))"
    )
    done = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    enabled, count = done.stdout.split()[-2:]
    return enabled == "True", int(count)


def test_the_command_imports_itself_with_the_collector_off_and_then_on():
    entry = "import noncoop.__main__ as m; m.leave = sys.exit; go = m.main"
    enabled, collections = collections_after(entry)
    _, without = collections_after("from noncoop.cli.app import run as go")
    assert enabled
    assert collections * 2 < without


LEAVE = """
import atexit, sys, threading, time
from noncoop.__main__ import leave

class Held:
    def __del__(self):
        print("taken apart")

held = Held()
atexit.register(lambda: print("exit handler ran"))
print("written", end=" ")
if {thread}:
    threading.Thread(target=time.sleep, args=(0.2,)).start()
leave({code})
"""


@pytest.mark.parametrize(("code", "status"), [(0, 0), (None, 0), (3, 3), ("'why'", 1)])
def test_the_command_leaves_with_its_status_and_output_but_without_the_teardown(code, status):
    done = subprocess.run(
        [sys.executable, "-c", LEAVE.format(code=code, thread=False)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == status
    assert done.stdout == "written exit handler ran\n"  # nothing taken apart one by one
    assert done.stderr == ("why\n" if status == 1 else "")


def test_the_command_waits_for_a_thread_still_running_as_an_ordinary_exit_does():
    done = subprocess.run(
        [sys.executable, "-c", LEAVE.format(code=0, thread=True)], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "taken apart" in done.stdout
