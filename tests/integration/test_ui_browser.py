#!/usr/bin/env python3
"""The web UI in Debian's headless Chromium: ui/ui_browser.mjs (puppeteer-core) drives a -dev
agent's /ui/ through every page: a service registered over the API appears live (no reload), a
check's status and output show, service and node maintenance toggled in the UI show in
/v1/agent/checks, the check filter, and a KV edit, create and delete made in the UI are seen
through the API. Any console error or page error fails it. Screenshots of each page go to
$UI_SCREENSHOT_DIR (meson: <build>/meson-logs/ui-screenshots/); their paths are printed.

Skipped (exit 77) only when chromium is not installed. node_modules comes from
`npm ci --prefix tests/integration/ui` (the Makefile's deps target); when it is missing this test
runs that itself once, and fails if it cannot.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, skip, watchdog  # noqa: E402

UI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui")
SCRIPT = os.path.join(UI_DIR, "ui_browser.mjs")


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def ensure_node_modules():
    node = shutil.which("node")
    if node is None:
        raise SystemExit("FAIL: node is not installed (make deps installs nodejs and npm)")
    if os.path.isfile(os.path.join(UI_DIR, "node_modules", "puppeteer-core", "package.json")):
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("FAIL: %s/node_modules is missing and npm is not installed" % UI_DIR)
    p = subprocess.run([npm, "ci", "--prefix", UI_DIR, "--no-audit", "--no-fund"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit("FAIL: npm ci --prefix %s failed:\n%s" % (UI_DIR, p.stdout[-2000:]))
    return node


def end_group(pgid, grace=5.0):
    """Chromium's helpers exit shortly after the browser closes; what is left after `grace`
    seconds (a crashed run) is killed."""
    deadline = time.monotonic() + grace
    try:
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)
            time.sleep(0.1)
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    chromium = find_chromium()
    if chromium is None:
        skip("chromium is not installed (apt-get install chromium)")
    node = ensure_node_modules()
    watchdog(280)
    shots = os.environ.get("UI_SCREENSHOT_DIR") or os.path.join(
        os.environ.get("MESON_BUILD_ROOT", os.getcwd()), "meson-logs", "ui-screenshots")
    shots = os.path.abspath(shots)
    agent = Agent(node="uinode").start()
    try:
        # Before the browser: one critical service (its TTL check never reported) and one passing.
        agent.api("PUT", "/v1/agent/service/register", {
            "ID": "db1", "Name": "db", "Tags": ["primary"], "Port": 5432,
            "Check": {"CheckID": "db1-ttl", "Name": "db TTL", "TTL": "10m"}})
        agent.api("PUT", "/v1/agent/service/register", {
            "ID": "cache1", "Name": "cache", "Tags": ["redis", "v7"], "Port": 6379,
            "Check": {"CheckID": "cache1-ttl", "Name": "cache TTL", "TTL": "10m",
                      "Status": "passing"}})
        agent.api("PUT", "/v1/agent/check/pass/cache1-ttl?note=PONG")
        env = dict(os.environ, BEACON_HTTP_PORT=str(agent.http_port), BEACON_NODE="uinode",
                   CHROMIUM=chromium, SCREENSHOT_DIR=shots)
        print("chromium %s against beacon on 127.0.0.1:%d; screenshots in %s"
              % (chromium, agent.http_port, shots), flush=True)
        # Its own process group: on a timeout node and every chromium process go together.
        p = subprocess.Popen([node, SCRIPT], cwd=UI_DIR, env=env, start_new_session=True)
        try:
            p.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            print("FAIL: the browser run timed out after 240 s")
            return 1
        finally:
            end_group(p.pid)
        if not agent.alive():
            print("FAIL: the agent died during the run:\n" + agent.log_text()[-3000:])
            return 1
        if p.returncode != 0:
            print("agent log (tail):\n" + agent.log_text()[-2000:])
        return 0 if p.returncode == 0 else 1
    finally:
        agent.close()


if __name__ == "__main__":
    sys.exit(main())
