"""Gossip key rotation on three real encrypted agents (127.0.12.1-3), as a user does it.

`beacon keyring -list` and /v1/operator/keyring show every node's keys; `-install`, `-use` and
`-remove` rotate the key cluster-wide; the agents keep seeing each other on the new key alone,
a newcomer with only the new key joins, each agent's <data_dir>/serf/local.keyring follows, a
restarted agent comes back with the rotated keyring (its stale -encrypt ignored, with Consul's
warning), removing the primary key is refused with memberlist's text, and an agent with a key
nobody has fails its -join with "No installed keys could decrypt the message".
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, wait_for, watchdog  # noqa: E402

HOSTS = ["127.0.12.%d" % i for i in range(1, 6)]
NAMES = ["k1", "k2", "k3"]


def cli(*args, timeout=30):
    p = subprocess.run([BEACON] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def keygen():
    rc, out, err = cli("keygen")
    assert rc == 0, err
    return out.strip()


def alive_names(agent):
    return sorted(m["Name"] for m in agent.api("GET", "/v1/agent/members") if m["Status"] == 1)


def keyring_file(agent):
    with open(os.path.join(agent.data_dir, "serf", "local.keyring")) as f:
        return json.load(f)


def main():
    watchdog(170)
    port = free_port(HOSTS[0])
    old, new, wrong = keygen(), keygen(), keygen()
    agents = []
    try:
        seed = "%s:%d" % (HOSTS[0], port)
        for i, name in enumerate(NAMES):
            args = ["-encrypt", old] + (["-join", seed] if i > 0 else [])
            a = Agent(node=name, host=HOSTS[i], serf_port=port, data_dir="tmp", extra_args=args)
            a.start()
            agents.append(a)
        for a in agents:
            wait_for(lambda a=a: alive_names(a) == NAMES, 15, what="3 alive on %s" % a.node)
        # A first start with -encrypt writes the keyring file.
        assert keyring_file(agents[1]) == [old]

        # List: Consul's output and JSON.
        rc, out, err = cli("keyring", "-list", "-http-addr", agents[0].http_addr)
        assert rc == 0, err
        assert out == ("==> Gathering installed encryption keys...\n\ndc1 (LAN):\n"
                       "  %s [3/3]\n" % old), out
        listing = agents[1].api("GET", "/v1/operator/keyring")
        assert listing == [{"WAN": False, "Datacenter": "dc1", "Segment": "",
                            "Keys": {old: 3}, "PrimaryKeys": {old: 3}, "NumNodes": 3}], listing

        # Install the new key everywhere, through one agent.
        rc, out, err = cli("keyring", "-install", new, "-http-addr", agents[1].http_addr)
        assert rc == 0, (out, err)
        assert out == "==> Installing new gossip encryption key...\n", out
        listing = agents[0].api("GET", "/v1/operator/keyring")[0]
        assert listing["Keys"] == {old: 3, new: 3}, listing
        assert listing["PrimaryKeys"] == {old: 3}, listing
        assert keyring_file(agents[2]) == [old, new]

        # Make it primary (HTTP PUT, Consul's body).
        r = agents[2].http("PUT", "/v1/operator/keyring", json.dumps({"Key": new}))
        assert r.status == 200, r.body
        listing = agents[0].api("GET", "/v1/operator/keyring")[0]
        assert listing["PrimaryKeys"] == {new: 3}, listing
        assert keyring_file(agents[0]) == [new, old]
        rc, out, err = cli("keyring", "-list-primary", "-http-addr", agents[1].http_addr)
        assert rc == 0, err
        assert out == ("==> Gathering installed primary encryption keys...\n\ndc1 (LAN):\n"
                       "  %s [3/3]\n" % new), out

        # The primary cannot be removed: memberlist's text from every node, exit code 1.
        rc, out, err = cli("keyring", "-remove", new, "-http-addr", agents[0].http_addr)
        assert rc == 1, (out, err)
        assert out == "==> Removing gossip encryption key...\n", out
        assert "dc1 (LAN) error: 3/3 nodes reported failure" in err, err
        for n in NAMES:
            assert "%s: Removing the primary key is not allowed" % n in err, err
        r = agents[0].http("DELETE", "/v1/operator/keyring", json.dumps({"Key": new}))
        assert r.status == 500 and b"Removing the primary key is not allowed" in r.body, r.body
        r = agents[0].http("POST", "/v1/operator/keyring", json.dumps({"Key": "not base64!"}))
        assert r.status == 500 and b"illegal base64 data" in r.body, r.body

        # Remove the old key: everyone is on the new key alone, and still one cluster.
        rc, out, err = cli("keyring", "-remove", old, "-http-addr", agents[0].http_addr)
        assert rc == 0, (out, err)
        rc, out, err = cli("keyring", "-list", "-http-addr", agents[2].http_addr)
        assert rc == 0 and "  %s [3/3]\n" % new in out and old not in out, (out, err)
        for a in agents:
            assert keyring_file(a) == [new], a.node
        rc, out, err = cli("event", "-name", "rotated", "-http-addr", agents[2].http_addr)
        assert rc == 0, err
        for a in agents:
            wait_for(lambda a=a: any(e["Name"] == "rotated" for e in a.api("GET", "/v1/event/list")),
                     10, what="the event on %s" % a.node)
            assert alive_names(a) == NAMES, a.node

        # An agent restarted with its stale -encrypt comes back with the rotated keyring.
        agents[2].stop()
        agents[2].start(keep_ports=True)
        assert "LAN keyring exists but -encrypt given, using keyring" in agents[2].log_text()
        for a in agents:
            wait_for(lambda a=a: alive_names(a) == NAMES, 20, what="k3 back on %s" % a.node)
        listing = agents[2].api("GET", "/v1/operator/keyring")[0]
        assert listing["Keys"] == {new: 3} and listing["PrimaryKeys"] == {new: 3}, listing

        # A newcomer with the new key only joins.
        late = Agent(node="late", host=HOSTS[3], serf_port=port, data_dir="tmp",
                     extra_args=["-encrypt", new, "-join", seed])
        late.start()
        agents.append(late)
        wait_for(lambda: "late" in alive_names(agents[0]), 15, what="late joined")

        # An agent whose key nobody has cannot join, and says why.
        bad = Agent(node="bad", host=HOSTS[4], serf_port=port, data_dir="tmp",
                    extra_args=["-encrypt", wrong, "-join", seed])
        try:
            bad.start(timeout=25)
            wait_for(lambda: bad.proc.poll() is not None, 25, what="the wrong-key agent exits")
        except RuntimeError:
            pass  # exited during start
        assert bad.proc.returncode not in (None, 0), bad.log_text()
        assert "No installed keys could decrypt the message" in bad.log_text(), bad.log_text()
        bad.close()
        assert "bad" not in [m["Name"] for m in agents[0].api("GET", "/v1/agent/members")]
        print("ok: keyring rotation across 3 agents, persisted, wrong key refused")
    finally:
        for a in agents:
            a.close()


if __name__ == "__main__":
    main()
