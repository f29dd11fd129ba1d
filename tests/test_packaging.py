"""A built wheel, installed into a fresh virtual environment, carries the rule pack and the
profiles: `noncoop rules test` and `noncoop synth` work from it, not only from this checkout."""

import re
import shutil
import subprocess
import sys
import sysconfig
import venv

import pytest
from conftest import ROOT

LOCAL_ONLY = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh environment with only the wheel installed; the dependencies come from this one."""
    root = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: a build/ folder left in the checkout could carry stale files.
    checkout = root / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root), str(checkout)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = root.glob("noncoop-*.whl")
    env = root / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    site = next(env.glob("lib/python*/site-packages"))
    # Dependencies (pandas, pyarrow, ...) from this environment, after the new one's own packages:
    # noncoop itself must come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    unpacked = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        capture_output=True,
        text=True,
    )
    assert unpacked.returncode == 0, unpacked.stderr
    return env


def run(env, *args: str) -> subprocess.CompletedProcess:
    python = env / "bin" / "python"
    return subprocess.run([python, "-m", "noncoop", *args], capture_output=True, text=True)


def test_the_wheel_is_what_runs(installed):
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import noncoop; print(noncoop.__file__)"],
        capture_output=True,
        text=True,
    )
    assert str(installed) in where.stdout, where.stdout + where.stderr


def test_rule_tests_run_from_the_installed_wheel(installed):
    result = run(installed, "rules", "test", "--engine", "python")
    assert result.returncode == 0, result.stdout + result.stderr
    passed, failed = map(int, re.search(r"(\d+) passed, (\d+) failed", result.stdout).groups())
    assert passed >= 19 * 2 and failed == 0


def test_synth_copies_the_shipped_profiles_from_the_installed_wheel(installed, tmp_path):
    result = run(installed, "synth", str(tmp_path / "r"), "--children", "20")
    assert result.returncode == 0, result.stdout + result.stderr
    shipped = sorted(p.name for p in (ROOT / "src" / "noncoop" / "profiles").glob("*.yaml"))
    assert sorted(p.name for p in (tmp_path / "r" / "profiles").glob("*.yaml")) == shipped
