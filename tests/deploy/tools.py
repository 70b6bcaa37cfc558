"""Where the deploy checks' tools are (`make deploy-tools` installs them), and what a test does
when one is missing: skip on a developer's machine, fail under CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TOOL_VENV = REPO / ".venv-deploy" / "bin"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def tool(name: str) -> str:
    """The path of a deploy tool: the tool venv's, else Debian's in /usr/bin."""
    for candidate in (TOOL_VENV / name, Path("/usr/bin") / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is not None:
        return found
    message = f"{name} is not installed: run `make deploy-tools`"
    if IN_CI:
        pytest.fail(message + " (CI=true: the deploy checks must run)")
    pytest.skip(message)


def run(*args: str, timeout_s: float = 120.0, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
    )
