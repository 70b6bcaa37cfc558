"""The web app: how long until the check-in screen can be used, and how much JavaScript it costs.

Time to interactive: a signed-in person opens `/` on localhost in Debian's Chromium (a fresh
browser context each time: empty cache, no mood words stored yet, so the app asks the API), and
the clock stops when the mood picker is on screen and the first word can be chosen
(`performance.now()`, which counts from the start of navigation). The warm case reloads in the
same context. The baseline is the same browser loading a static HTML page with the same 40
mood radios and no script, from Python's http.server. Bundle size: every built JS file,
gzipped, against the 250 KB budget, and the part the check-in screen loads, against its own
60 KB budget (issue 15). Pages are opened at a phone's 375 px.

Run: `.venv/bin/python bench/web.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from _common import (
    HOST,
    HttpConnection,
    emit,
    emit_latencies,
    hugmood_server,
    machine_params,
    register_and_log_in,
)

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUDGET_KB = 250.0
CHECK_IN_BUDGET_KB = 60.0
PHONE = {"width": 375, "height": 740}
TARGET_MS = 1000.0
READY = "form[data-ready] input[name=mood]"
READY_JS = "() => performance.now()"


def gzip_kb(paths: list[Path]) -> float:
    return sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in paths) / 1024


def bundle_sizes() -> None:
    scripts = sorted((DIST / "assets").glob("*.js"))
    index = (DIST / "index.html").read_text()
    initial = [p for p in scripts if p.name in index]
    params = {"files": len(scripts), "budget_kb": BUDGET_KB, **machine_params()}
    total = gzip_kb(scripts)
    emit(
        "web.bundle",
        "js_gzip_kb",
        total,
        "KB",
        "size budget",
        BUDGET_KB,
        {**params, "meets_target": total < BUDGET_KB},
        lower_is_better=True,
    )
    check_in = gzip_kb(initial)
    emit(
        "web.bundle",
        "check_in_js_gzip_kb",
        check_in,
        "KB",
        "size budget",
        CHECK_IN_BUDGET_KB,
        {
            **params,
            "files": [p.name for p in initial],
            "budget_kb": CHECK_IN_BUDGET_KB,
            "meets_target": check_in < CHECK_IN_BUDGET_KB,
        },
        lower_is_better=True,
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Result lines only on stdout; no access log."""


def static_baseline(directory: Path) -> ThreadingHTTPServer:
    words = "".join(
        f'<label><input type="radio" name="mood" value="w{i}">word {i}</label>' for i in range(40)
    )
    (directory / "index.html").write_text(
        f"<!doctype html><title>baseline</title><form data-ready>{words}</form>"
    )
    handler = partial(QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer((HOST, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def time_to_ready(browser: Browser, url: str, token: str | None, runs: int) -> list[float]:
    """Seconds from navigation start until the first mood word can be chosen, each run in a
    fresh browser context (empty cache and storage)."""
    cold: list[float] = []
    for _ in range(runs):
        context = browser.new_context(viewport=PHONE)
        if token is not None:
            context.add_init_script(f"localStorage.setItem('hugmood.token', {token!r})")
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.locator(READY).first.wait_for(state="visible")
        cold.append(page.evaluate(READY_JS) / 1000)
        context.close()
    return cold


def warm_reloads(browser: Browser, url: str, token: str, runs: int) -> list[float]:
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(f"localStorage.setItem('hugmood.token', {token!r})")
    page = context.new_page()
    page.goto(url)
    page.locator(READY).first.wait_for(state="visible")
    warm = []
    for _ in range(runs):
        page.reload(wait_until="commit")
        page.locator(READY).first.wait_for(state="visible")
        warm.append(page.evaluate(READY_JS) / 1000)
    context.close()
    return warm


async def sign_up(port: int) -> str:
    conn = await HttpConnection.open(port)
    try:
        return await register_and_log_in(conn, "bench_web", "a bench password")
    finally:
        conn.close()


def main(quick: bool) -> None:
    subprocess.run(["make", "-s", "web"], cwd=REPO, check=True, stdout=sys.stderr)
    bundle_sizes()
    runs = 5 if quick else 30
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-web-") as tmp:
        workdir = Path(tmp)
        server = hugmood_server(workdir / "data", workdir / "server.log", database_url="memory")
        (workdir / "static").mkdir()
        baseline = static_baseline(workdir / "static")
        with server:
            asyncio.run(server.wait_ready())
            token = asyncio.run(sign_up(server.port))
            url = f"http://{HOST}:{server.port}/"
            base_url = f"http://{HOST}:{baseline.server_address[1]}/"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    time_to_ready(browser, url, token, 1)  # first start of the browser and server
                    time_to_ready(browser, base_url, None, 1)
                    cold = time_to_ready(browser, url, token, runs)
                    base_cold = time_to_ready(browser, base_url, None, runs)
                    warm = warm_reloads(browser, url, token, runs)
                finally:
                    browser.close()
        baseline.shutdown()
    params = {"runs": runs, "quick": quick, **machine_params()}
    static = "static HTML form, no script (http.server)"
    emit_latencies(
        "web.check_in_interactive.cold",
        cold,
        static,
        base_cold,
        {**params, "cache": "empty"},
        target_p99_ms=TARGET_MS,
    )
    emit_latencies(
        "web.check_in_interactive.warm",
        warm,
        static,
        base_cold,
        {**params, "cache": "reload"},
        target_p99_ms=TARGET_MS,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 page loads of each kind, not 30")
    main(parser.parse_args().quick)
