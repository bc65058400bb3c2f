#!/usr/bin/env python3
"""Beacon's gossip codec against a stock HashiCorp `serf agent` (issue 8): the probe built from
src/gossip pings serf over UDP, joins it over TCP with a push-pull carrying a fake node, and serf
lists that node; then the same with encryption (AES-GCM keyring), where a wrong key is refused.
Then a whole gossip::Serf node (serf_probe, real loopback sockets) joins serf: serf lists it
alive with its tags, the two exchange user events, and its graceful leave shows as "left".

Skips (exit 77) only when `go` or the serf sources are missing."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import free_port, stop_process, wait_for  # noqa: E402

GOPATH = "/usr/share/gocode"
SERF_SRC = os.path.join(GOPATH, "src/github.com/hashicorp/serf/cmd/serf")
LO = "127.0.0.1"


def probe_path():
    if os.environ.get("WIRE_PROBE"):
        return os.environ["WIRE_PROBE"]
    beacon = os.environ.get("BEACON", "")
    return os.path.join(os.path.dirname(beacon), "tests", "gossip", "wire_probe")


def serf_probe_path():
    if os.environ.get("SERF_PROBE"):
        return os.environ["SERF_PROBE"]
    return os.path.join(os.path.dirname(probe_path()), "serf_probe")


def build_serf(outdir):
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH,
               GOCACHE=os.path.join(tempfile.gettempdir(), "gocache-%d" % os.getuid()))
    out = os.path.join(outdir, "serf")
    subprocess.run(["go", "build", "-o", out, "github.com/hashicorp/serf/cmd/serf"], env=env,
                   check=True, timeout=300, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return out


class SerfAgent:
    """`serf agent -node s1` on free loopback ports; stopped and reaped by stop()."""

    def __init__(self, serf, workdir, key=None):
        self.serf = serf
        self.bind_port = free_port()
        self.rpc_port = free_port()
        self.log_path = os.path.join(workdir, "serf-%d.log" % self.bind_port)
        args = [serf, "agent", "-node", "s1", "-bind", "%s:%d" % (LO, self.bind_port),
                "-rpc-addr", "%s:%d" % (LO, self.rpc_port), "-tag", "role=test"]
        if key:
            args += ["-encrypt", key]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        harness._live_processes.append(self.proc)
        wait_for(lambda: self.members(timeout=2) is not None, 15, interval=0.2,
                 what="serf agent RPC")

    def members(self, timeout=5):
        r = subprocess.run([self.serf, "members", "-rpc-addr", "%s:%d" % (LO, self.rpc_port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if r.returncode != 0:
            return None
        rows = {}
        for line in r.stdout.decode().splitlines():
            cols = line.split()
            if len(cols) >= 3:
                rows[cols[0]] = {"addr": cols[1], "status": cols[2],
                                 "tags": cols[3] if len(cols) > 3 else ""}
        return rows

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def parse_fields(line):
    kind, _, rest = line.partition(" ")
    return kind, dict(f.split("=", 1) for f in rest.split() if "=" in f)


@unittest.skipIf(shutil.which("go") is None or not os.path.isdir(SERF_SRC),
                 "go or the serf sources (golang-github-hashicorp-serf-dev) are missing")
class SerfWireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="serf-wire-")
        cls.serf = build_serf(cls.tmp)
        cls.probe = probe_path()
        if not os.access(cls.probe, os.X_OK):
            raise RuntimeError("wire_probe not built at %s" % cls.probe)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, key=None):
        agent = SerfAgent(self.serf, self.tmp, key)
        self.addCleanup(agent.stop)
        return agent

    def run_probe(self, *args):
        r = subprocess.run([self.probe] + [str(a) for a in args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def ping(self, agent, *extra):
        rc, out, err = self.run_probe("ping", "--to", "%s:%d" % (LO, agent.bind_port),
                                      "--node", "s1", *extra)
        return rc, out + err

    def join(self, agent, node, port, *extra):
        rc, out, err = self.run_probe("join", "--to", "%s:%d" % (LO, agent.bind_port),
                                      "--node", node, "--port", port, *extra)
        return rc, out + err

    def check_ping(self, agent, *extra):
        rc, out = self.ping(agent, *extra)
        self.assertEqual(rc, 0, out + agent.log_text())
        kind, f = parse_fields(out.strip().splitlines()[-1])
        self.assertEqual(kind, "ack")
        self.assertEqual(f["seq"], "4242")
        # Serf's ping delegate: version byte 1, then its Vivaldi coordinate in msgpack.
        self.assertEqual(f["payload_version"], "1")
        self.assertGreater(int(f["payload_bytes"]), 1)

    def check_join(self, agent, node, *extra, encrypted=False):
        fake_port = free_port()
        rc, out = self.join(agent, node, fake_port, "--tag", "role=beacon", "--tag", "dc=dc1",
                            *extra)
        self.assertEqual(rc, 0, out + agent.log_text())
        lines = [parse_fields(l) for l in out.strip().splitlines()]
        answer = [f for k, f in lines if k == "answer"][0]
        self.assertEqual(answer["encrypted"], "1" if encrypted else "0")
        self.assertEqual(answer["compressed"], "1")  # serf LZW-compresses its stream answers
        nodes = {f["name"]: f for k, f in lines if k == "node"}
        self.assertIn("s1", nodes, out)
        s1 = nodes["s1"]
        self.assertEqual(s1["addr"], LO)
        self.assertEqual(s1["port"], str(agent.bind_port))
        self.assertEqual(s1["state"], "alive")
        self.assertEqual(s1["tags"], "role=test")
        self.assertEqual(s1["vsn"].split(",")[:3], ["1", "5", "2"])
        serf = [f for k, f in lines if k == "serf"][0]
        self.assertEqual(serf["join"], "1")
        self.assertGreaterEqual(int(serf["ltime"]), 1)
        self.assertIn("s1", dict(m.split(":") for m in serf["members"].split(",")))
        self.assertEqual(serf["event_slots"], "512")  # serf's EventBuffer ring, nil slots
        # Serf merged the fake node and lists it with its tags and address.
        rows = wait_for(lambda: (agent.members() or {}).get(node) and agent.members(), 10,
                        interval=0.1, what="serf members listing " + node)
        self.assertEqual(rows[node]["addr"], "%s:%d" % (LO, fake_port))
        self.assertEqual(sorted(rows[node]["tags"].split(",")), ["dc=dc1", "role=beacon"])
        self.assertIn(rows[node]["status"], ("alive", "failed"))  # nobody answers its probes

    def serf_cmd(self, agent, cmd, *args):
        r = subprocess.run([self.serf, cmd, "-rpc-addr", "%s:%d" % (LO, agent.rpc_port)]
                           + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return r.returncode, r.stdout.decode()

    def check_live_node(self, agent, node, *keys):
        """`node` joins and then lives on a UDP port: serf probes it and gets our acks (with a
        Vivaldi coordinate serf accepts), gossips to it, and gets our answer to a query."""
        port = free_port()
        out_path = os.path.join(self.tmp, "listen-%s-%d.out" % (node, port))
        with open(out_path, "wb") as out:
            listener = subprocess.Popen([self.probe, "listen", "--bind", "%s:%d" % (LO, port),
                                         "--node", node, "--answer-query", "beacon-q=pong",
                                         "--ms", "60000"] + list(keys),
                                        stdout=out, stderr=subprocess.STDOUT)
        harness._live_processes.append(listener)
        self.addCleanup(stop_process, listener)

        def listen_text():
            with open(out_path) as f:
                return f.read()
        wait_for(lambda: "listening" in listen_text(), 10, what="probe listening")
        rc, out = self.join(agent, node, port, "--tag", "role=beacon", *keys)
        self.assertEqual(rc, 0, out)
        # serf probes the new node; the ack carries our coordinate, so serf can estimate an RTT.
        wait_for(lambda: "ping seq=" in listen_text(), 15, what="serf probing " + node)
        def rtt():
            rc, out = self.serf_cmd(agent, "rtt", "s1", node)
            return out if rc == 0 else None
        rtt = wait_for(rtt, 15, interval=0.2, what="serf rtt s1 " + node)
        self.assertIn("Estimated s1 <-> %s rtt:" % node, rtt)
        # A query gossiped by serf reaches the probe, which acks and answers it.
        rc, out = self.serf_cmd(agent, "query", "-timeout", "5s", "beacon-q", "ping")
        self.assertEqual(rc, 0, out)
        self.assertIn("Ack from '%s'" % node, out)
        self.assertIn("Response from '%s': pong" % node, out)
        text = listen_text()
        self.assertNotIn("error:", text)
        self.assertRegex(text, r"serf-query name=beacon-q id=\d+ ltime=\d+ from=s1 "
                               r"reply_to=127\.0\.0\.1:%d flags=1" % agent.bind_port)
        self.assertRegex(text, r"alive node=s1 incarnation=\d+ addr=127\.0\.0\.1:%d tags=1"
                         % agent.bind_port)
        rows = agent.members()
        self.assertEqual(rows[node]["status"], "alive")
        # Indirect probes through serf: of the live node (serf relays its ack), and of a port
        # nobody answers on (serf answers with a nack, protocol >= 4).
        to = "%s:%d" % (LO, agent.bind_port)
        rc, out = self.run_probe("indirect", "--to", to, "--node", node, "--port", port,
                                 "--nack", 1, *keys)[:2]
        self.assertEqual(rc, 0, out)
        self.assertIn("ack seq=4242", out)
        rc, out = self.run_probe("indirect", "--to", to, "--node", "ghost", "--port", free_port(),
                                 "--nack", 1, *keys)[:2]
        self.assertEqual(rc, 0, out)
        self.assertIn("nack seq=4242", out)
        # A graceful leave: a user event and Serf's leave intent, then memberlist's dead message
        # from the node itself, all LZW-compressed by our encoder. Serf records "left".
        rc, out = self.run_probe("leave", "--to", "%s:%d" % (LO, agent.bind_port), "--node", node,
                                 "--ltime", 5, "--event", "beacon-deploy=v2", "--compress", 1,
                                 *keys)[:2]
        self.assertEqual(rc, 0, out)
        wait_for(lambda: "Received event: user-event: beacon-deploy" in agent.log_text(), 10,
                 what="serf receiving the user event")
        wait_for(lambda: (agent.members() or {}).get(node, {}).get("status") == "left", 10,
                 what="serf listing %s as left" % node)
        stop_process(listener)

    def check_serf_node(self, agent, node, *keys):
        """A whole gossip::Serf node joins the agent over loopback sockets and leaves again."""
        port = free_port()
        out_path = os.path.join(self.tmp, "serf-probe-%s-%d.out" % (node, port))
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([serf_probe_path(), "--bind", "%s:%d" % (LO, port),
                                     "--node", node, "--join", "%s:%d" % (LO, agent.bind_port),
                                     "--tag", "role=beacon", "--tag", "dc=dc1",
                                     "--event", "beacon-hello=hi", "--leave-after", "12000",
                                     "--ms", "40000"] + list(keys),
                                    stdout=out, stderr=subprocess.STDOUT)
        harness._live_processes.append(proc)
        self.addCleanup(stop_process, proc)

        def text():
            with open(out_path) as f:
                return f.read()
        wait_for(lambda: "join-result joined=1 error=\n" in text(), 10, what="our Serf joining")
        # serf lists our node alive with its tags; we list serf's with its tags.
        rows = wait_for(lambda: (agent.members() or {}).get(node) and agent.members(), 10,
                        interval=0.1, what="serf members listing " + node)
        self.assertEqual(rows[node]["addr"], "%s:%d" % (LO, port))
        self.assertEqual(rows[node]["status"], "alive")
        self.assertEqual(sorted(rows[node]["tags"].split(",")), ["dc=dc1", "role=beacon"])
        self.assertIn("member-join name=s1 addr=127.0.0.1:%d status=alive tags=role=test"
                      % agent.bind_port, text())
        # User events both ways: ours fired after the join, serf's through `serf event`.
        wait_for(lambda: "Received event: user-event: beacon-hello" in agent.log_text(), 10,
                 what="serf receiving our user event")
        rc, out = self.serf_cmd(agent, "event", "serf-hello", "there")
        self.assertEqual(rc, 0, out)
        wait_for(lambda: "user-event name=serf-hello payload=there" in text(), 10,
                 what="our Serf receiving serf's user event")
        # Still alive after several probe rounds (our acks, our probes of serf).
        self.assertEqual(agent.members()[node]["status"], "alive")
        # The graceful leave: serf records "left", never "failed".
        wait_for(lambda: agent.members()[node]["status"] == "left", 20,
                 what="serf listing %s as left" % node)
        self.assertEqual(proc.wait(timeout=15), 0, text())
        self.assertIn("left\n", text())
        log = agent.log_text()
        self.assertNotIn("EventMemberFailed: %s" % node, log)
        self.assertNotIn("[ERR]", log)

    def check_name_conflict(self, agent):
        """Our Serf joining under the agent's own name reports the conflict (the claimant is the
        agent's address), which is what lets Beacon refuse to start."""
        port = free_port()
        r = subprocess.run([serf_probe_path(), "--bind", "%s:%d" % (LO, port), "--node", "s1",
                            "--join", "%s:%d" % (LO, agent.bind_port), "--ms", "3000"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode()
        self.assertIn("conflict name=s1 addr=127.0.0.1:%d status=alive tags=role=test"
                      % agent.bind_port, out)

    def test_plain(self):
        agent = self.start()
        self.check_ping(agent)
        self.check_join(agent, "beacon1")
        self.check_join(agent, "beacon-lzw", "--compress", "1")  # serf reads our LZW
        # A fresh agent: queries gossip to a few random members, and the fake nodes above
        # (failed now) would compete with the live one for those sends.
        self.check_live_node(self.start(), "beacon-live")
        self.check_serf_node(self.start(), "beacon-serf")
        self.check_name_conflict(self.start())

    def test_encrypted(self):
        key = subprocess.run([self.serf, "keygen"], stdout=subprocess.PIPE, check=True,
                             timeout=30).stdout.decode().strip()
        wrong = subprocess.run([self.serf, "keygen"], stdout=subprocess.PIPE, check=True,
                               timeout=30).stdout.decode().strip()
        agent = self.start(key)
        self.check_ping(agent, "--key", key)
        self.check_ping(agent, "--key", key, "--enc-version", "0")  # legacy padded format
        # A keyring holding the wrong key first: the decoder tries each key.
        self.check_ping(agent, "--key", key, "--recv-key", wrong, "--recv-key", key)
        self.check_join(agent, "beacon1", "--key", key, encrypted=True)
        self.check_join(agent, "beacon2", "--key", key, "--enc-version", "0", encrypted=True)
        self.check_join(agent, "beacon-lzw", "--key", key, "--compress", "1", encrypted=True)

        # Our decoder refuses serf's answers under a wrong key, with a clear reason.
        rc, out = self.ping(agent, "--key", key, "--recv-key", wrong)
        self.assertEqual(rc, 1)
        self.assertIn("error: No installed keys could decrypt the message", out)
        rc, out = self.join(agent, "beacon3", free_port(), "--key", key, "--recv-key", wrong)
        self.assertEqual(rc, 1)
        self.assertIn("error: No installed keys could decrypt the message", out)
        # Serf refuses our push-pull under a wrong key, and says so in its error response.
        rc, out = self.join(agent, "beacon4", free_port(), "--key", wrong, "--recv-key", key)
        self.assertEqual(rc, 1)
        self.assertIn("error: remote error: No installed keys could decrypt the message", out)
        rows = agent.members()
        self.assertNotIn("beacon4", rows)
        # Unencrypted input is refused by an encrypted serf (no answer, or an error answer).
        rc, out = self.ping(agent)
        self.assertEqual(rc, 1)
        self.check_live_node(self.start(key), "beacon-live", "--key", key)
        self.check_serf_node(self.start(key), "beacon-serf", "--key", key)


def main():
    if shutil.which("go") is None or not os.path.isdir(SERF_SRC):
        print("SKIP: go or the serf sources (golang-github-hashicorp-serf-dev) are missing")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
