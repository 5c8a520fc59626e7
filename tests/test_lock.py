"""`make test` installs from requirements.lock and refuses one that pyproject.toml moved away
from, telling the developer to run `make lock`; the lock holds every package with its hashes."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".venv-tools" / "bin" / "uv"


def pinned(lock: str) -> dict[str, str]:
    """name -> version of every requirement line of a lock."""
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s;]+)", lock, re.M))


def canonical(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    versions = pinned(lock)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    missing = [r for r in wanted if canonical(r) not in versions]
    assert not missing, f"not in requirements.lock: {missing}; run `make lock`"
    # Every pin carries at least one hash (uv pip sync --require-hashes refuses it otherwise).
    blocks = re.split(r"\n(?=[a-z0-9])", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if "==" in b)
    assert "://" not in lock  # no index address in the lock: `make lock` names none


def lock_check(folder: Path) -> subprocess.CompletedProcess[str]:
    """`make lock-check` in a copy of the repository's install files, from uv's cache."""
    return subprocess.run(
        ["make", "--no-print-directory", "lock-check", "LOCK_ARGS=--offline"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_refuses_a_lock_that_pyproject_moved_away_from(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make .venv/.installed` first")
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)  # keep times: make must not rebuild uv
    shutil.copytree(ROOT / "tools", tmp_path / "tools", copy_function=shutil.copy2)
    (tmp_path / ".venv-tools").symlink_to(ROOT / ".venv-tools")

    agreed = lock_check(tmp_path)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr

    # A dependency dropped from pyproject.toml but still in the lock.
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(re.sub(r'\n\s*"openpyxl[^"]*",', "", pyproject.read_text()))
    refused = lock_check(tmp_path)
    assert refused.returncode != 0
    assert "run 'make lock'" in refused.stderr
    assert "-openpyxl==" in refused.stdout  # the difference is shown
