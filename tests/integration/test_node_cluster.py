#!/usr/bin/env python3
"""node-consul (npm `consul` 2.x) join/force-leave against two Beacon agents on 127.0.10.1-2
(issue 8): runs node/cluster_client.test.js, then checks the cluster from Python too.
Skips (exit 77) like test_node_consul.py when node or node_modules cannot be had."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, wait_for, watchdog  # noqa: E402
from test_node_consul import NODE_DIR, ensure_node_modules  # noqa: E402

SCRIPT = os.path.join(NODE_DIR, "cluster_client.test.js")


def main():
    watchdog(150)
    node = ensure_node_modules()
    a = Agent(node="js-a", host="127.0.10.1").start()
    b = Agent(node="js-b", host="127.0.10.2").start()
    try:
        env = dict(os.environ, BEACON_A_HTTP=a.http_addr, BEACON_B_HTTP=b.http_addr,
                   BEACON_B_SERF=b.serf_addr, BEACON_A_NODE="js-a", BEACON_B_NODE="js-b")
        p = subprocess.run([node, "--test-reporter=spec", "--test", SCRIPT], cwd=NODE_DIR,
                           env=env, timeout=120)
        if p.returncode != 0:
            print("FAIL: node-consul cluster tests failed")
            return 1
        b.kill9()
        wait_for(lambda: {m["Name"]: m["Status"] for m in a.api("GET", "/v1/agent/members")}
                 ["js-b"] == 4, 20, what="js-b failed on js-a")
        a.api("PUT", "/v1/agent/force-leave/js-b")
        wait_for(lambda: {m["Name"]: m["Status"] for m in a.api("GET", "/v1/agent/members")}
                 ["js-b"] == 3, 10, what="js-b left after force-leave")
        print("node-consul cluster: ok")
        return 0
    finally:
        a.close()
        b.close()


if __name__ == "__main__":
    sys.exit(main())
