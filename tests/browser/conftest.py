"""A real server on loopback and Debian's Chromium driven by Playwright.

The server is started as its own process (gunicorn-free ``flask run``) on a database of its own, set up and
loaded with the demo data through the same commands ``make run`` uses.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


LIVE_ENV: dict[str, str] = {}  # the live server's environment, for commands run against its database


def _live_flask(*args: str) -> str:
    """Run ``flask --app wsgi ARGS`` against the live server's database (as cron would); return its output."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=LIVE_ENV,
                          check=True, capture_output=True, text=True)
    return done.stdout


def _live_python(code: str) -> str:
    """Run Python inside the live server's application context; return what it prints."""
    prelude = "from wsgi import app\nctx = app.app_context()\nctx.push()\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, env=LIVE_ENV, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(database_factory, tmp_path_factory):
    instance = tmp_path_factory.mktemp("live-instance")
    env = {**os.environ, "DATABASE_URL": database_factory(), "EXCHANGE_INSTANCE_PATH": str(instance),
           "FLASK_APP": "wsgi", "PYTHONWARNINGS": "ignore"}
    LIVE_ENV.clear()
    LIVE_ENV.update(env)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args in (["setup"], ["demo", "load"]):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(flask + ["run", "--port", str(port), "--no-reload"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("live server did not start: " + (instance / "server.log").read_text()[-2000:])
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture
def live_flask(live_server):
    return _live_flask


@pytest.fixture
def live_python(live_server):
    return _live_python


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, username: str, password: str = "Demo@2026") -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("[data-testid=login-submit]")
