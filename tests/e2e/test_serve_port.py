"""`hugmood serve` (and so `make run`) on a port something else holds: it says which port is
taken and how to choose another, and never announces that HugMood is up."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.server import hugmood_env, run_cli

pytestmark = pytest.mark.e2e


def test_serve_on_a_taken_port_says_which_and_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        env = hugmood_env(tmp_path / "data", {"HUGMOOD_DATABASE_URL": "memory"})

        result = run_cli("serve", "--demo", "--port", str(port), env=env)

    said = " ".join(result.stderr.split())
    assert result.returncode == 2, said
    assert f"Port {port} on 127.0.0.1 is already in use" in said
    assert f"hugmood serve --port {port + 1}" in said
    assert f"HUGMOOD_PORT={port + 1} make run" in said
    assert "is up" not in said + result.stdout
    assert "Demo logins" not in said + result.stdout
