#!/usr/bin/env python3
"""Beacon behind dnsmasq (`server=/consul/127.0.0.1#PORT`), spec sections 1.16 and 3.5."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, check, seed_entry, svc  # noqa: E402


def seed():
    s = []
    for i in range(1, 4):
        s.append(seed_entry("web%d" % i, "127.0.0.%d" % (10 + i), service=svc("web", 80, ["rails"]),
                            checks=[check("web-check", "passing", "web")]))
    s.append(seed_entry("v4node", "127.0.0.20", service=svc("webv4", 81)))
    s.append(seed_entry("v6node", "fd00::20", service=svc("webv6", 82)))
    return s


WEB = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]


class Dnsmasq:
    """dnsmasq on a free loopback port forwarding consul. to the given Beacon DNS port."""

    def __init__(self, beacon_port, workdir):
        self.beacon_port = beacon_port
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "dnsmasq.log")
        self.proc = None
        self.port = None

    def start(self, timeout=10.0):
        last = None
        for _ in range(3):
            self.port = harness.free_port()
            args = [harness.DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--no-poll",
                    "--port=%d" % self.port, "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--server=/consul/127.0.0.1#%d" % self.beacon_port,
                    "--pid-file=" + os.path.join(self.workdir, "dnsmasq.pid"),
                    "--conf-file=/dev/null", "--user=root", "--group=root",
                    "--cache-size=150", "--log-queries", "--log-facility=-"]
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            harness._live_processes.append(self.proc)
            try:
                # any reply at all (dnsmasq answers consul. SOA by forwarding to Beacon)
                harness.wait_for(lambda: self.proc.poll() is not None or harness.dns_alive(self.port, 0.3),
                                 timeout, what="dnsmasq on port %d" % self.port)
            except TimeoutError as e:
                last = e
                self.stop()
                continue
            if self.proc.poll() is not None:
                last = RuntimeError("dnsmasq exited %s:\n%s" % (self.proc.returncode, self.log_text()))
                self.stop()
                continue
            return self
        raise RuntimeError("dnsmasq did not start: %s" % last)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        harness.stop_process(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def dig(self, name, qtype=None, *opts, **kw):
        return harness.dig(self.port, name, qtype, *opts, **kw)


@unittest.skipIf(harness.DNSMASQ is None, "dnsmasq is not installed")
class DnsmasqCase(unittest.TestCase):
    config = {}

    def setUp(self):
        self.agent = Agent(config=self.config, seed=seed()).start()
        self.addCleanup(self.agent.close)
        self.dnsmasq = Dnsmasq(self.agent.dns_port, self.agent.dir).start()
        self.addCleanup(self.dnsmasq.stop)

    def assertNoError(self, r, msg=""):
        self.assertFalse(r.timed_out, "no reply through dnsmasq %s:\n%r\ndnsmasq log:\n%s"
                         % (msg, r, self.dnsmasq.log_text()))
        self.assertEqual(r.status, "NOERROR", "%s\n%r" % (msg, r))


class TestThroughDnsmasq(DnsmasqCase):
    def test_service_a(self):
        r = self.dnsmasq.dig("web.service.consul", "A")
        self.assertNoError(r)
        self.assertEqual(r.data("answer", "A"), WEB, "%r" % r)
        r = self.dnsmasq.dig("rails.web.service.consul", "A", "+noedns")
        self.assertNoError(r)
        self.assertEqual(r.data("answer", "A"), WEB, "%r" % r)

    def test_srv(self):
        r = self.dnsmasq.dig("_web._tcp.service.consul", "SRV")
        self.assertNoError(r)
        targets = sorted(x["data"].split()[3] for x in r.records("answer", "SRV"))
        self.assertEqual(targets, ["web%d.node.dc1.consul." % i for i in (1, 2, 3)], "%r" % r)
        self.assertEqual(sorted(x["data"] for x in r.records("additional", "A")), WEB, "%r" % r)

    def test_a_aaaa_pair_nodata_never_nxdomain(self):
        # glibc / dnsmasq ask A and AAAA together: the missing family must be NODATA
        r = self.dnsmasq.dig("webv4.service.consul", "A")
        self.assertNoError(r)
        self.assertEqual(r.data("answer", "A"), ["127.0.0.20"])
        r = self.dnsmasq.dig("webv4.service.consul", "AAAA")
        self.assertNoError(r, "AAAA of a v4-only service")
        self.assertEqual(r.answer, [], "%r" % r)
        self.assertEqual(len(r.records("authority", "SOA")), 1, "NODATA carries the SOA:\n%r" % r)
        r = self.dnsmasq.dig("webv6.service.consul", "AAAA")
        self.assertNoError(r)
        self.assertEqual(r.data("answer", "AAAA"), ["fd00::20"])
        r = self.dnsmasq.dig("webv6.service.consul", "A")
        self.assertNoError(r, "A of a v6-only service")
        self.assertEqual(r.answer, [], "%r" % r)
        # node names too
        r = self.dnsmasq.dig("web1.node.consul", "AAAA")
        self.assertNoError(r, "AAAA of a v4-only node")
        self.assertEqual(r.answer, [])

    def test_unknown_service_nxdomain(self):
        for qtype in ("A", "AAAA"):
            with self.subTest(qtype=qtype):
                r = self.dnsmasq.dig("nosuch.service.consul", qtype)
                self.assertEqual(r.status, "NXDOMAIN", "%r" % r)
                self.assertEqual(r.answer, [])

    def test_no_cache_with_ttl_zero(self):
        # default service_ttl 0: every query reaches Beacon
        for _ in range(2):
            self.assertEqual(self.dnsmasq.dig("web.service.consul", "A").data("answer", "A"), WEB)
        log = self.dnsmasq.log_text()
        self.assertEqual(log.count("forwarded web.service.consul"), 2, log)


class TestDnsmasqCachesWithRecursionAvailable(DnsmasqCase):
    config = {"dns_config": {"recursion_available": True, "service_ttl": {"*": "5s"}}}

    def test_cached_answer_survives_beacon_stop(self):
        direct = self.agent.dig("web.service.consul", "A")
        self.assertIn("ra", direct.flags, "dns_config.recursion_available must set RA:\n%r" % direct)
        self.assertEqual({x["ttl"] for x in direct.answer}, {5})

        r1 = self.dnsmasq.dig("web.service.consul", "A")
        self.assertNoError(r1)
        self.assertEqual(r1.data("answer", "A"), WEB)
        r2 = self.dnsmasq.dig("web.service.consul", "A")
        self.assertEqual(r2.data("answer", "A"), WEB)
        log = self.dnsmasq.log_text()
        self.assertEqual(log.count("forwarded web.service.consul"), 1,
                         "the second query must come from dnsmasq's cache:\n" + log)
        self.assertIn("cached web.service.consul", log)

        self.agent.stop()
        r3 = self.dnsmasq.dig("web.service.consul", "A")
        self.assertNoError(r3, "after Beacon stopped (cache)")
        self.assertEqual(r3.data("answer", "A"), WEB)
        self.assertLessEqual(max(x["ttl"] for x in r3.answer), 5)


class TestDnsmasqWithoutRecursionAvailable(DnsmasqCase):
    config = {"dns_config": {"service_ttl": {"*": "5s"}}}

    def test_ra_clear_and_answers(self):
        direct = self.agent.dig("web.service.consul", "A")
        self.assertNotIn("ra", direct.flags, "RA=0 without recursors:\n%r" % direct)
        self.assertEqual({x["ttl"] for x in direct.answer}, {5})
        r = self.dnsmasq.dig("web.service.consul", "A")
        self.assertNoError(r)
        self.assertEqual(r.data("answer", "A"), WEB)

    def test_no_cache_without_ra(self):
        self.assertEqual(self.dnsmasq.dig("web.service.consul", "A").data("answer", "A"), WEB)
        self.assertEqual(self.dnsmasq.dig("web.service.consul", "A").data("answer", "A"), WEB)
        self.agent.stop()
        r = self.dnsmasq.dig("web.service.consul", "A")
        if r.status == "NOERROR" and r.answer:
            # The dnsmasq of hashicorp/consul#8752 refused to cache RA=0 replies. Newer dnsmasq
            # (2.90 here) sets RA on the forwarded reply before caching, so it caches anyway.
            first = self.dnsmasq.log_text().splitlines()[0]
            self.skipTest("this dnsmasq caches RA=0 replies as well (%s)"
                          % first[first.find("version"):].strip())
        self.assertEqual(r.answer, [], "%r" % r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
