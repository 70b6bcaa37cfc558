"""The unlock agent: `hugmood unlock --for 15m` keeps a vault's key in a background process for
a chosen time, as ssh-agent does, so commands stop asking for the passphrase; `hugmood lock`
(or the time running out) ends it. Only the same user may ask it, over a private Unix socket."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_SECONDS = 24 * 3600
_DURATION = re.compile(r"(\d+)([smh])")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `1h30m` → seconds; ValueError for anything else or over a day."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"{text[:20]!r} is not a duration like 90s, 15m or 1h30m")
    seconds = sum(int(n) * _UNIT[u] for n, u in parts)
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError("the time must be more than 0 and at most 24h")
    return seconds


MAX_SOCKET_PATH = 107
"""The longest path a Unix socket may have on Linux (108 bytes with the final NUL)."""


def socket_path(vault: Path) -> Path:
    """One agent per vault, in a folder only this user can enter: the login session's runtime
    folder, or the system's temporary one where that path would be too long for a socket."""
    digest = hashlib.sha256(str(vault.resolve()).encode()).hexdigest()[:16]
    name = Path(f"hugmood-{os.getuid()}") / f"agent-{digest}.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and len(os.fsencode(Path(runtime) / name)) <= MAX_SOCKET_PATH:
        return Path(runtime) / name
    return Path(tempfile.gettempdir()) / name


def _ask(vault: Path, command: bytes) -> bytes | None:
    path = socket_path(vault)
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        try:
            conn.connect(str(path))
            conn.sendall(command + b"\n")
            return conn.recv(256).strip()
        except OSError:
            return None


def key_for(vault: Path) -> bytes | None:
    """The key the agent keeps for this vault, or None (no agent, or its time is up)."""
    answer = _ask(vault, b"key")
    if not answer:
        return None
    try:
        return bytes.fromhex(answer.decode())
    except ValueError:
        return None


def stop(vault: Path) -> bool:
    """Ask this vault's agent to forget the key and end; False if none was running."""
    return _ask(vault, b"stop") == b"ok"


AGENT_START_S = 30.0
"""How long the agent may take to answer (it starts in well under a second, but a machine
busy with other work can take far longer; giving up too soon only makes the person wait
for a passphrase prompt again)."""


def start(vault: Path, key: bytes, seconds: int) -> None:
    """Start (or replace) this vault's agent, holding `key` for `seconds`."""
    stop(vault)
    path = socket_path(vault)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    child = subprocess.Popen(  # noqa: S603 (our own module, no shell)
        [sys.executable, "-m", "hugmood.client.agent", str(path), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives this command and its terminal's Ctrl+C
    )
    assert child.stdin is not None
    child.stdin.write(key.hex().encode() + b"\n")
    child.stdin.close()
    deadline = time.monotonic() + AGENT_START_S
    while key_for(vault) != key:
        if child.poll() is not None or time.monotonic() > deadline:
            raise OSError("the unlock agent did not start")
        time.sleep(0.02)


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def serve(path: Path, key: bytes, seconds: float) -> None:
    """Answer `key` and `stop` until the time is up; then remove the socket and end."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        old_mask = os.umask(0o177)
        try:
            server.bind(str(path))
        finally:
            os.umask(old_mask)
        server.listen(8)
        try:
            while (left := deadline - time.monotonic()) > 0:
                server.settimeout(left)
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    break
                with conn:
                    if not _same_user(conn):
                        continue
                    conn.settimeout(5)
                    try:
                        command = conn.recv(64).strip()
                        if command == b"key":
                            conn.sendall(key.hex().encode())
                        elif command == b"stop":
                            conn.sendall(b"ok")
                            break
                    except OSError:
                        continue
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), bytes.fromhex(sys.stdin.readline().strip()), float(sys.argv[2]))
