#!/usr/bin/env python3
"""net::GossipTransport driving a gossip::Membership against a stock HashiCorp `serf agent`: the
probe joins serf (our outgoing TCP push-pull), serf joins the probe (our accepted one), and both
sides keep listing each other alive across several rounds of UDP probes; a join to a closed port
fails with Go's error text.

Skips (exit 77) only when `go` or the serf sources are missing."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import free_port, stop_process, wait_for  # noqa: E402
from test_serf_wire import LO, SERF_SRC, SerfAgent, build_serf  # noqa: E402


def probe_path():
    if os.environ.get("TRANSPORT_PROBE"):
        return os.environ["TRANSPORT_PROBE"]
    beacon = os.environ.get("BEACON", "")
    return os.path.join(os.path.dirname(beacon), "tests", "gossip", "transport_probe")


class Probe:
    """transport_probe running for `ms`; its output lines are read back from a file."""

    def __init__(self, path, workdir, node, ms, join=None):
        self.out_path = os.path.join(workdir, "probe-%s-%d.out" % (node, time.monotonic_ns()))
        args = [path, "--node", node, "--ms", str(ms)]
        if join:
            args += ["--join", join]
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        harness._live_processes.append(self.proc)
        line = wait_for(lambda: self.first("listening port="), 10, what="probe listening")
        self.port = int(line.split("=")[1])

    def lines(self):
        with open(self.out_path) as f:
            return f.read().splitlines()

    def first(self, prefix):
        return next((l for l in self.lines() if l.startswith(prefix)), None)

    def members(self):
        """The last `members` line as {name: state} (0 alive)."""
        rows = [l for l in self.lines() if l.startswith("members ")]
        if not rows:
            return {}
        body = rows[-1][len("members "):]
        return dict((p.split(":")[0], int(p.split(":")[1])) for p in body.split(",") if p)

    def wait(self):
        self.proc.wait(timeout=60)
        harness._live_processes.remove(self.proc)
        return self.proc.returncode


@unittest.skipIf(shutil.which("go") is None or not os.path.isdir(SERF_SRC),
                 "go or the serf sources (golang-github-hashicorp-serf-dev) are missing")
class SerfTransportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="serf-transport-")
        cls.serf = build_serf(cls.tmp)
        cls.probe = probe_path()
        if not os.access(cls.probe, os.X_OK):
            raise RuntimeError("transport_probe not built at %s" % cls.probe)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start_serf(self):
        agent = SerfAgent(self.serf, self.tmp)
        self.addCleanup(agent.stop)
        return agent

    def start_probe(self, node, ms, join=None):
        p = Probe(self.probe, self.tmp, node, ms, join)
        self.addCleanup(stop_process, p.proc)
        return p

    def check_both_alive(self, agent, probe, node):
        wait_for(lambda: probe.members().get("s1") == 0, 10, interval=0.1,
                 what="probe listing s1 alive")
        wait_for(lambda: (agent.members() or {}).get(node, {}).get("status") == "alive", 10,
                 interval=0.2, what="serf listing %s alive" % node)
        # Several probe intervals later (UDP pings and acks both ways) both are still alive.
        time.sleep(3)
        self.assertEqual(probe.members().get("s1"), 0, "\n".join(probe.lines()))
        self.assertEqual(agent.members()[node]["status"], "alive", agent.log_text())
        self.assertEqual(agent.members()[node]["addr"], "%s:%d" % (LO, probe.port))

    def test_probe_joins_serf(self):
        agent = self.start_serf()
        probe = self.start_probe("beacon-out", 6000, "%s:%d" % (LO, agent.bind_port))
        self.check_both_alive(agent, probe, "beacon-out")
        self.assertEqual(probe.wait(), 0)
        stats = probe.first("stats ")
        self.assertIn("streams_out=1 ", stats)
        self.assertIn("stream_errors=0 dropped=0", stats)
        self.assertNotRegex(stats, r"packets_in=0 ")

    def test_serf_joins_probe(self):
        agent = self.start_serf()
        probe = self.start_probe("beacon-in", 6000)
        r = subprocess.run([self.serf, "join", "-rpc-addr", "%s:%d" % (LO, agent.rpc_port),
                            "%s:%d" % (LO, probe.port)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout.decode())
        self.check_both_alive(agent, probe, "beacon-in")
        self.assertEqual(probe.wait(), 0)
        self.assertIn("streams_in=1 ", probe.first("stats "))

    def test_join_to_a_closed_port_fails_with_go_text(self):
        port = free_port()
        probe = self.start_probe("beacon-lonely", 1500, "%s:%d" % (LO, port))
        line = wait_for(lambda: probe.first("stream-error"), 5, what="stream error")
        self.assertIn("dial tcp %s:%d: connect: connection refused" % (LO, port), line)
        self.assertEqual(probe.wait(), 0)


if __name__ == "__main__":
    unittest.main()
