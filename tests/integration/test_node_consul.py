#!/usr/bin/env python3
"""node-consul (npm `consul` 2.x) drives the real binary: runs node/consul_client.test.js (node's
built-in test runner) against a fresh -dev agent and fails when any JS test fails.

node_modules comes from `npm ci --prefix tests/integration/node` (the Makefile's deps target).
If it is missing, this test tries that itself once; skipped (exit 77) only when node is absent or
the install fails (e.g. no network).
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, skip  # noqa: E402

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
SCRIPT = os.path.join(NODE_DIR, "consul_client.test.js")


def ensure_node_modules():
    node = shutil.which("node")
    if node is None:
        skip("node is not installed (apt-get install nodejs npm)")
    if os.path.isfile(os.path.join(NODE_DIR, "node_modules", "consul", "package.json")):
        return node
    npm = shutil.which("npm")
    if npm is None:
        skip("tests/integration/node/node_modules is missing and npm is not installed")
    try:
        p = subprocess.run([npm, "ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        skip("npm ci --prefix %s timed out (no registry access?)" % NODE_DIR)
    if p.returncode != 0:
        skip("tests/integration/node/node_modules is missing and `npm ci` failed:\n%s" % p.stdout[-2000:])
    return node


def main():
    node = ensure_node_modules()
    version = subprocess.run([node, "-e", "console.log(require('consul/package.json').version)"],
                             cwd=NODE_DIR, stdout=subprocess.PIPE, text=True, timeout=30).stdout.strip()
    if not version.startswith("2."):
        print("FAIL: node_modules has consul %r, want 2.x (run npm ci --prefix %s)" % (version, NODE_DIR))
        return 1
    agent = Agent(node="jsnode").start()
    try:
        env = dict(os.environ, BEACON_HTTP_PORT=str(agent.http_port),
                   BEACON_DNS_PORT=str(agent.dns_port), BEACON_NODE="jsnode",
                   BEACON_SERVER_PORT=str(agent.server_port))
        print("node-consul %s against beacon on 127.0.0.1:%d" % (version, agent.http_port), flush=True)
        try:
            p = subprocess.run([node, "--test-reporter=spec", "--test", SCRIPT], cwd=NODE_DIR, env=env,
                               timeout=120)
        except subprocess.TimeoutExpired:
            print("FAIL: node test run timed out after 120 s")
            return 1
        if not agent.alive():
            print("FAIL: the agent died during the run:\n" + agent.log_text()[-3000:])
            return 1
        return 0 if p.returncode == 0 else 1
    finally:
        agent.close()


if __name__ == "__main__":
    sys.exit(main())
