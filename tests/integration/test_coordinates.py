#!/usr/bin/env python3
"""Network coordinates (Serf's Vivaldi) over real processes on 127.0.12.x (issue 8): three Beacon
agents and a stock `serf agent` exchange coordinates in memberlist acks.

- /v1/coordinate/nodes (blocking) lists every member, the serf node included;
  /v1/coordinate/node/<node> answers one, 404 for an unknown node; /v1/coordinate/datacenters
  lists the server.
- `beacon rtt` prints Consul's line with a sane LAN estimate; stock `serf rtt` between the serf
  node and a Beacon node works too (our acks carry our coordinate).
- PUT /v1/coordinate/update places external nodes at chosen points; ?near=<node> then sorts
  /v1/catalog/service, /v1/health/service, /v1/catalog/nodes and a prepared query's Near by the
  estimated RTT (bad coordinates are refused).
Real RTT differences (and convergence) are in tests/sim/coordinate_sim_test.cpp: this machine's
kernel has no netem. Skips (exit 77) when go or the serf sources are missing."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, skip, wait_for, watchdog  # noqa: E402
from test_serf_cluster import SerfNode  # noqa: E402
from test_serf_wire import SERF_SRC, build_serf  # noqa: E402

RTT_LINE = re.compile(r"^Estimated (\S+) <-> (\S+) rtt: (\d+\.\d{3}) ms \(using LAN coordinates\)$")


def coord_at(x):
    """A coordinate x seconds along the first axis, with the minimum height."""
    return {"Adjustment": 0.0, "Error": 0.2, "Height": 1e-5, "Vec": [x] + [0.0] * 7}


def rtt(agent, *nodes):
    return subprocess.run([BEACON, "rtt", "-http-addr", agent.http_addr] + list(nodes),
                          capture_output=True, text=True, timeout=20)


def main():
    watchdog(400)
    if shutil.which("go") is None or not os.path.isdir(SERF_SRC):
        skip("go or the serf sources (golang-github-hashicorp-serf-dev) are missing")
    hosts = ["127.0.12.%d" % i for i in range(1, 5)]
    port = free_port(hosts[0])
    seed = "%s:%d" % (hosts[0], port)
    agents, serf_node = [], None
    with tempfile.TemporaryDirectory(prefix="beacon-coord-") as workdir:
        serf = build_serf(workdir)
        try:
            agents.append(Agent(node="b1", host=hosts[0], serf_port=port,
                                extra_args=["-server"]).start())
            for i in (1, 2):
                agents.append(Agent(node="b%d" % (i + 1), host=hosts[i], serf_port=port,
                                    extra_args=["-join", seed]).start())
            serf_node = SerfNode(serf, workdir, "s1", hosts[3], port, join=seed)
            b1 = agents[0]
            names = {"b1", "b2", "b3", "s1"}

            # Every member's coordinate arrives through probe acks.
            def listed():
                return {c["Node"] for c in b1.api("GET", "/v1/coordinate/nodes")} >= names
            wait_for(listed, 30, interval=0.3, what="coordinates of every member on b1")
            entry = b1.api("GET", "/v1/coordinate/node/b2")
            assert len(entry) == 1 and entry[0]["Node"] == "b2", entry
            assert len(entry[0]["Coord"]["Vec"]) == 8, entry
            assert b1.http("GET", "/v1/coordinate/node/nope").status == 404
            dcs = b1.api("GET", "/v1/coordinate/datacenters")
            assert dcs[0]["Datacenter"] == "dc1", dcs
            # Servers only (-dev agents are servers; the serf node is not): "<node>.<dc>".
            listed_dc = {c["Node"] for c in dcs[0]["Coordinates"]}
            assert "b1.dc1" in listed_dc and listed_dc <= {"b1.dc1", "b2.dc1", "b3.dc1"}, dcs

            # Blocking: the index moves as coordinates are learnt (probes every second).
            r = b1.http("GET", "/v1/coordinate/nodes")
            index = int(r.headers["x-consul-index"])
            r2 = b1.http("GET", "/v1/coordinate/nodes?index=%d&wait=30s" % index, timeout=40)
            assert r2.status == 200 and int(r2.headers["x-consul-index"]) > index, r2.headers

            # beacon rtt, with one node (the other is the agent) and two. Each agent learns a
            # coordinate when it probes that member: wait until b2 has probed b1.
            wait_for(lambda: agents[1].http("GET", "/v1/coordinate/node/b1").status == 200, 30,
                     interval=0.3, what="b1's coordinate on b2")
            out = rtt(agents[1], "b1")
            assert out.returncode == 0, out.stderr
            m = RTT_LINE.match(out.stdout.strip())
            assert m and m.group(1) == "b1" and m.group(2) == "b2", out.stdout
            assert 0 < float(m.group(3)) < 100, out.stdout  # loopback: well under 100 ms
            out = rtt(b1, "b3", "s1")
            assert out.returncode == 0 and RTT_LINE.match(out.stdout.strip()), out
            print(out.stdout.strip())
            out = rtt(b1, "ghost")
            assert out.returncode == 1, out
            assert 'Could not find a coordinate for node "ghost"' in out.stderr, out.stderr
            out = rtt(b1)
            assert out.returncode == 1 and "One or two node names" in out.stderr, out

            # Stock serf estimates its RTT to a Beacon node from the coordinates in our acks.
            def serf_rtt():
                r = serf_node.run("rtt", "s1", "b2")
                return r.stdout.strip() if r.returncode == 0 else None
            line = wait_for(serf_rtt, 30, interval=0.3, what="serf rtt s1 b2")
            m = re.match(r"^Estimated s1 <-> b2 rtt: (\d+\.\d{3}) ms$", line)
            assert m and 0 < float(m.group(1)) < 100, line
            print("serf: " + line)

            # External nodes at chosen points; ?near sorts by estimated RTT from x0.
            points = {"x0": 0.0, "xfar": 0.050, "xnear": 0.002, "xmid": 0.020}
            for node in points:
                b1.api("PUT", "/v1/catalog/register",
                       {"Node": node, "Address": "192.0.2.%d" % (len(node) + 1),
                        "Service": {"Service": "ext", "Port": 80}})
            for node, x in points.items():
                b1.api("PUT", "/v1/coordinate/update", {"Node": node, "Coord": coord_at(x)})
            want = ["x0", "xnear", "xmid", "xfar"]
            got = [e["Node"] for e in b1.api("GET", "/v1/catalog/service/ext?near=x0")]
            assert got == want, got
            got = [e["Node"]["Node"] for e in b1.api("GET", "/v1/health/service/ext?near=x0")]
            assert got == want, got
            got = [e["Node"] for e in b1.api("GET", "/v1/catalog/service/ext?near=xfar")]
            assert got == ["xfar", "xmid", "xnear", "x0"], got
            # The gossip members sit near the origin too (loopback): only the x nodes' order
            # is known.
            nodes = [n["Node"] for n in b1.api("GET", "/v1/catalog/nodes?near=x0")]
            assert [n for n in nodes if n.startswith("x")] == want, nodes
            assert set(nodes) >= {"b1", "b2", "b3"}, nodes  # serf nodes are not catalog nodes
            # Without ?near: Consul's order (by node name).
            got = [e["Node"] for e in b1.api("GET", "/v1/catalog/service/ext")]
            assert got == sorted(want), got
            q = b1.api("POST", "/v1/query",
                       {"Name": "ext-near", "Service": {"Service": "ext", "Near": "xmid"}})
            # xmid at 20 ms: xnear 18 ms, x0 20 ms, xfar 30 ms away. Execute shuffles first; the
            # sort must give the same order every time.
            for _ in range(5):
                res = b1.api("GET", "/v1/query/%s/execute" % q["ID"])
                got = [n["Node"]["Node"] for n in res["Nodes"]]
                assert got == ["xmid", "xnear", "x0", "xfar"], got
            out = rtt(b1, "x0", "xfar")
            assert out.stdout.strip() == \
                "Estimated x0 <-> xfar rtt: 50.020 ms (using LAN coordinates)", out.stdout

            # Refusals.
            bad = b1.http("PUT", "/v1/coordinate/update",
                          {"Node": "x0", "Coord": {"Vec": [0.0] * 3, "Error": 1, "Height": 0,
                                                   "Adjustment": 0}})
            assert bad.status == 400 and b"incompatible coordinate" in bad.body, bad.body
            bad = b1.http("PUT", "/v1/coordinate/update", {"Node": "x0"})
            assert bad.status == 400 and b"invalid coordinate" in bad.body, bad.body
            bad = b1.http("PUT", "/v1/coordinate/update", "{not json")
            assert bad.status == 400 and b"Request decode failed" in bad.body, bad.body
            print("coordinates: ok")
        finally:
            if serf_node:
                serf_node.stop()
            for a in agents:
                a.close()


if __name__ == "__main__":
    main()
