"""Run every benchmark in `bench/` one after another and collect their result lines.

Run: `.venv/bin/python bench/run_all.py [--quick]`; every flag is passed to each script. Prints
each result line as it arrives and writes them all to `bench/results/latest.json` (a JSON list).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).parent
RESULTS = BENCH_DIR / "results" / "latest.json"
TIMEOUT_S = {True: 120.0, False: 1800.0}
"""Per script, quick and full: a hung benchmark must not hang `make bench`."""


def scripts() -> list[Path]:
    """`bench/*.py` except this runner and helper modules (a leading underscore)."""
    return sorted(
        p for p in BENCH_DIR.glob("*.py") if p.name != Path(__file__).name and p.name[0] != "_"
    )


def run_script(script: Path, flags: list[str], timeout_s: float) -> tuple[list[Any], str | None]:
    """Its result lines, and why it failed (or None). Other output goes to stderr."""
    lines: list[Any] = []
    with subprocess.Popen(
        [sys.executable, str(script), *flags], stdout=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(timeout_s, process.kill)  # only this script's process
        watchdog.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.strip()
                result = parse(line)
                if result is not None:
                    lines.append(result)
                    print(line, flush=True)
                elif line:
                    print(f"{script.name}: {line}", file=sys.stderr, flush=True)
            code = process.wait()
        finally:
            watchdog.cancel()
    if code == -signal.SIGKILL:
        return lines, f"killed after {timeout_s:.0f} s"
    return lines, None if code == 0 else f"exited with status {code}"


def parse(line: str) -> dict[str, Any] | None:
    """A benchmark result line, or None for anything else a script printed."""
    if not line.startswith("{"):
        return None
    try:
        result = json.loads(line)
    except json.JSONDecodeError:
        return None
    return result if isinstance(result, dict) and "bench" in result else None


def main(flags: list[str]) -> int:
    timeout_s = TIMEOUT_S["--quick" in flags]
    results: list[Any] = []
    failures = []
    for script in scripts():
        print(f"== {script.name} {' '.join(flags)}", file=sys.stderr, flush=True)
        lines, failure = run_script(script, flags, timeout_s)
        results.extend(lines)
        if failure is not None:
            failures.append(f"{script.name}: {failure}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{len(results)} results written to {RESULTS}", file=sys.stderr)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
