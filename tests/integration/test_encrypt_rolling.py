#!/usr/bin/env python3
"""Gossip encryption rolled onto a running cluster without downtime, in Consul's documented three
steps (issue 8: encrypt_verify_incoming / encrypt_verify_outgoing), with three Beacon agents on
127.0.13.x, each restarted in turn at every step:

1. "encrypt" with encrypt_verify_incoming = false and encrypt_verify_outgoing = false: the key is
   loaded, traffic stays plaintext, plaintext is accepted.
2. encrypt_verify_outgoing = true: every agent sends encrypted, still accepts plaintext.
3. encrypt_verify_incoming = true: plaintext is refused.

Throughout, the two agents not being restarted keep seeing each other alive and answer each
other's services over DNS; after each restart all three are alive everywhere. After step 1 an
agent without a key can still join; after step 3, one is refused."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, wait_for, watchdog  # noqa: E402

HOSTS = ["127.0.13.%d" % i for i in range(1, 4)]
NAMES = ["e1", "e2", "e3"]


def statuses(agent):
    return {m["Name"]: m["Status"] for m in agent.api("GET", "/v1/agent/members")}


def answers(agent, svc):
    return [r["data"] for r in agent.dig("%s.service.consul" % svc, "A").records("answer", "A")]


def config(i, port, extra):
    c = {"service": {"name": "svc-" + NAMES[i], "port": 80},
         "retry_join": ["%s:%d" % (h, port) for j, h in enumerate(HOSTS) if j != i],
         "retry_interval": "1s"}
    c.update(extra)
    return c


def all_alive(agents):
    for a in agents:
        wait_for(lambda a=a: [statuses(a).get(n) for n in NAMES] == [1, 1, 1], 30,
                 what="every member alive on %s" % a.node)


def assert_serving(others):
    """The agents still running see each other alive and answer each other's services."""
    for a in others:
        st = statuses(a)
        for b in others:
            assert st.get(b.node) == 1, (a.node, st)
            assert answers(a, "svc-" + b.node) == [b.host], (a.node, b.node)


def keyless_join(port, seed, host):
    """Starts an agent without a key that -joins `seed`; returns (joined, log)."""
    a = Agent(node="plain", host=host, serf_port=port, extra_args=["-join", seed])
    try:
        a.start()
        wait_for(lambda: statuses(a).get("e1") == 1, 15, what="keyless agent sees e1")
        return True, a.log_text()
    except (RuntimeError, TimeoutError):
        return False, a.log_text()
    finally:
        if a.proc is not None:
            # Leave so the others drop it (as an operator would); then gone.
            subprocess.run([BEACON, "leave", "-http-addr", a.http_addr], capture_output=True,
                           timeout=20)
        a.close()


def main():
    watchdog(420)
    key = subprocess.run([BEACON, "keygen"], capture_output=True, text=True,
                         check=True).stdout.strip()
    port = free_port(HOSTS[0])
    agents = []
    try:
        for i, (host, name) in enumerate(zip(HOSTS, NAMES)):
            agents.append(Agent(config=config(i, port, {}), node=name, host=host,
                                serf_port=port, data_dir="tmp").start())
        all_alive(agents)
        steps = [
            {"encrypt": key, "encrypt_verify_incoming": False, "encrypt_verify_outgoing": False},
            {"encrypt": key, "encrypt_verify_incoming": False, "encrypt_verify_outgoing": True},
            {"encrypt": key, "encrypt_verify_incoming": True, "encrypt_verify_outgoing": True},
        ]
        for n, extra in enumerate(steps, 1):
            if n == 2:
                # Everyone holds the key but still sends plaintext and accepts it.
                ok, log = keyless_join(port, "%s:%d" % (HOSTS[0], port), "127.0.13.9")
                assert ok, "after step 1 a keyless agent must still join:\n" + log
                print("after step 1: an agent without the key still joins")
            for i, a in enumerate(agents):
                a.stop()
                assert_serving([b for b in agents if b is not a])
                a.write_config(config(i, port, extra))
                a.start(keep_ports=True)
                all_alive(agents)
                assert_serving(agents)
            print("step %d done: %s" % (n, ", ".join("%s=%s" % kv for kv in extra.items()
                                                      if kv[0] != "encrypt")))
        assert "(encrypted)" in agents[0].log_text(), agents[0].log_text()[-2000:]
        ok, log = keyless_join(port, "%s:%d" % (HOSTS[0], port), "127.0.13.9")
        assert not ok, "after step 3 a keyless agent must be refused"
        assert "Failed to join" in log, log[-2000:]
        all_alive(agents)
        assert_serving(agents)
        print("step 3: a keyless agent is refused; the cluster is encrypted: ok")
    finally:
        for a in agents:
            a.close()


if __name__ == "__main__":
    main()
