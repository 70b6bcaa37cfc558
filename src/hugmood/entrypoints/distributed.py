"""A local distributed HugMood: edges (`hugmood serve --edge-only`) and workers
(`hugmood worker`) as separate processes on PostgreSQL, Redis and NATS JetStream. The
`hugmood distributed` command runs it for demos; the e2e tests start the same topology, kill
its processes and restart them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STARTUP_DEADLINE_S = 60.0

LOCAL_SERVICES = {
    "HUGMOOD_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "HUGMOOD_REDIS_URL": "redis://127.0.0.1:6379/0",
    "HUGMOOD_NATS_URL": "nats://127.0.0.1:4222",
}
"""What the topology runs on unless the environment says otherwise."""


class ProcessDied(RuntimeError):
    """A process of the topology exited, or never became healthy."""


@dataclass
class HugMoodProcess:
    """One edge or worker: started on a fixed port, killed or stopped like an operator would."""

    name: str
    args: Sequence[str]
    port: int
    env: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
                [sys.executable, "-m", "hugmood", *self.args, "--port", str(self.port)],
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_healthy(self, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                self.process = None
                raise ProcessDied(f"{self.name} exited during startup:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.kill()
        raise ProcessDied(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no chance to finish, flush or release anything."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, then wait for it to drain and exit (SIGKILL if it hangs)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ProcessDied(f"{self.name} ignored SIGTERM:\n{self.log_tail()}") from None
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Topology:
    """Edges and workers sharing one region's PostgreSQL schema, Redis prefix and stream."""

    env: Mapping[str, str]
    log_dir: Path
    edge_ports: Sequence[int]
    worker_ports: Sequence[int]
    demo: bool = False
    edges: list[HugMoodProcess] = field(default_factory=list)
    workers: list[HugMoodProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        for n, port in enumerate(self.worker_ports, 1):
            self.workers.append(self._process(f"worker-{n}", ["worker"], port))
        for n, port in enumerate(self.edge_ports, 1):
            args = ["serve", "--edge-only", *(["--demo"] if self.demo and n == 1 else [])]
            self.edges.append(self._process(f"edge-{n}", args, port))

    def _process(self, name: str, args: list[str], port: int) -> HugMoodProcess:
        return HugMoodProcess(name, args, port, self.env, self.log_dir / f"{name}.log")

    @property
    def processes(self) -> list[HugMoodProcess]:
        return [*self.workers, *self.edges]

    def start(self) -> None:
        """The first worker alone (it creates the schema, the stream and the read models),
        then the others together."""
        first, *rest = self.processes
        first.start()
        first.wait_until_healthy()
        for process in rest:
            process.start()
        for process in rest:
            process.wait_until_healthy()

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessDied):
                process.stop()


def topology_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment, with the local services where none is configured."""
    env = dict(os.environ)
    for name, default in LOCAL_SERVICES.items():
        env.setdefault(name, default)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
