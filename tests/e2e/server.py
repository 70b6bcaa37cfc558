"""Runs `hugmood serve` as a subprocess on a free port; kills and restarts it like an operator."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

STARTUP_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.05
SERVE = (sys.executable, "-m", "hugmood", "serve")


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def hugmood_env(data_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The test's own environment without any stray `HUGMOOD_*`, plus these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUGMOOD_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "HUGMOOD_DATA_DIR": str(data_dir),
            "HUGMOOD_LOG_JSON": "true",
            **settings,
        }
    )
    return env


def run_cli(
    *args: str, env: Mapping[str, str], timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run `hugmood <args>` to completion, as a person at a shell would."""
    return subprocess.run(
        [sys.executable, "-m", "hugmood", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


class ServerDied(RuntimeError):
    """The server process exited (or never answered) while it should have been serving."""


class HugMoodServer:
    """One HugMood installation (a data dir and settings) whose server can be (re)started.

    Each start picks a fresh free port unless told which; `url` always points at the running
    process.
    """

    def __init__(self, data_dir: Path, log_dir: Path, settings: Mapping[str, str]) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.env = hugmood_env(data_dir, settings)
        self.http = httpx.Client(timeout=30.0)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The combined stdout and stderr of the current (or last) server process."""
        return self.log_dir / f"server-{self.starts}.log"

    def start(self, *, port: int | None = None) -> None:
        """Start the server (on `port`, e.g. the previous one, else a free one) and return once
        `/healthz` answers 200."""
        if self.process is not None:
            raise RuntimeError("the server is already running; stop or kill it first")
        self.starts += 1
        self.port = port or free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*SERVE, "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                self.process = None
                raise ServerDied(f"the server exited during startup:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if self.http.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            time.sleep(POLL_INTERVAL_S)
        self.kill()
        raise ServerDied(
            f"/healthz did not answer 200 within {STARTUP_DEADLINE_S} s:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to flush or close anything."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """SIGTERM and wait for a graceful shutdown (SIGKILL if it hangs)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerDied(f"the server ignored SIGTERM:\n{self.log_tail()}") from None
        self.process = None

    def restart_after_crash(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.http.close()

    def health(self) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/healthz")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def event_log_position(self) -> int:
        position: int = self.health()["eventLogPosition"]
        return position

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_server(
    data_dir: Path, log_dir: Path, settings: Mapping[str, str]
) -> Iterator[HugMoodServer]:
    server = HugMoodServer(data_dir, log_dir, settings)
    try:
        server.start()
        yield server
    finally:
        server.close()
