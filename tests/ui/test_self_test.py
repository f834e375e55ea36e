"""`audience-studio --self-test` (what the installers' smoke test runs on the frozen bundle), run here
from source: it opens the demo home in the real window, computes an estimate in the builder and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

from app.cli.main import main


def _run(home, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "app", "--home", str(home), "--self-test"], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_self_test_computes_an_estimate_on_the_demo_and_exits_0(tmp_path) -> None:
    home = tmp_path / "demo"
    assert main(["--home", str(home), "demo", "--profiles", "1500", "--days", "14"]) == 0
    run = _run(home)
    assert run.returncode == 0, run.stderr
    assert "self-test: passed:" in run.stdout and "users" in run.stdout


def test_the_self_test_fails_plainly_on_a_home_without_audiences(tmp_path) -> None:
    run = _run(tmp_path / "empty")
    assert run.returncode == 1
    assert "self-test: FAILED: the home holds no audience" in run.stderr
