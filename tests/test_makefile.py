"""`make run` on a fresh clone: one line while it sets up, then the bot's own mode line.

The real setup downloads from PyPI; here the interpreter, pip, pybabel and digestbot are
stand-ins that only record they ran, so what is tested is the Makefile's own output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _stand_ins(tmp_path: Path) -> Path:
    """A fake ``python3`` whose ``-m venv DIR`` fills DIR/bin with recording stand-ins."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("pip", "pybabel"):
        _script(tools / tool, f'echo "{tool} $*" >> "$(dirname "$0")/../calls"')
    _script(tools / "digestbot", 'echo "digestbot: sandbox mode (no TELEGRAM_BOT_TOKEN)"')
    python = tmp_path / "python3"
    _script(python, f'mkdir -p "$3/bin" && cp {tools}/* "$3/bin/"')
    return python


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_first_make_run_says_it_is_setting_up(tmp_path: Path) -> None:
    python = _stand_ins(tmp_path)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    first = subprocess.run(
        ["make", "--no-print-directory", "run", f"PYTHON={python}", f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"digestbot: setting up {venv} (first run only")
    assert lines[1:] == ["digestbot: sandbox mode (no TELEGRAM_BOT_TOKEN)"]
    assert "pip install -e .[dev,postgres]" in (venv / "calls").read_text()

    again = subprocess.run(
        ["make", "--no-print-directory", "run", f"PYTHON={python}", f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.stdout.splitlines() == ["digestbot: sandbox mode (no TELEGRAM_BOT_TOKEN)"]
