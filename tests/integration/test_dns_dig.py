#!/usr/bin/env python3
"""End-to-end DNS tests: the real beacon binary queried with dig over UDP and TCP.

Spec: /work/shared/spec/consul-compat.md section 1 (and 3.5).
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, FakeUpstream, check, seed_entry, svc  # noqa: E402

TRANSPORTS = (("udp", ()), ("tcp", ("+tcp",)))
WEB_HEALTHY = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"]
WEB_PASSING = WEB_HEALTHY[:4]


def base_seed():
    seed = [
        seed_entry("foo", "127.0.0.1", meta={"key": "value"}, tagged={"lan_ipv6": "::1"},
                   service=svc("db", 12345, ["primary"], address="127.0.0.2",
                               weights={"Passing": 1, "Warning": 1}),
                   checks=[check("db-check", "passing", "db")]),
    ]
    # web1..web5 healthy (web5 warning), web1/web2 tagged rails.
    for i in range(1, 6):
        tags = ["rails"] if i <= 2 else ["other"]
        status = "warning" if i == 5 else "passing"
        seed.append(seed_entry("web%d" % i, "127.0.0.%d" % (10 + i), service=svc("web", 80, tags),
                               checks=[check("web-check", status, "web")]))
    # web6: service check critical; web7: node check critical. Both must be filtered out.
    seed.append(seed_entry("web6", "127.0.0.16", service=svc("web", 80, ["rails"]),
                           checks=[check("web-check", "critical", "web")]))
    seed.append(seed_entry("web7", "127.0.0.17", service=svc("web", 80, ["rails"]),
                           checks=[check("serfHealth", "critical")]))
    # v4-only and v6-only services.
    seed.append(seed_entry("v4node", "127.0.0.20", service=svc("webv4", 81)))
    seed.append(seed_entry("v6node", "fd00::20", service=svc("webv6", 82)))
    # all-critical service
    seed.append(seed_entry("sick", "127.0.0.30", service=svc("sick", 83),
                           checks=[check("sick-check", "critical", "sick")]))
    # SRV weights: passing instance -> Weights.Passing, warning instance -> Weights.Warning
    seed.append(seed_entry("wt1", "127.0.0.41", service=svc("wt", 90, weights={"Passing": 10, "Warning": 3}),
                           checks=[check("wt-check", "passing", "wt")]))
    seed.append(seed_entry("wt2", "127.0.0.42", service=svc("wt", 90, weights={"Passing": 10, "Warning": 3}),
                           checks=[check("wt-check", "warning", "wt")]))
    # 30 instances with long-ish names for the size limits (1.13, case 46)
    for i in range(30):
        seed.append(seed_entry("big-instance-node-number-%02d" % i, "127.0.1.%d" % (i + 1),
                               service=svc("big", 7000 + i)))
    return seed


class DigTestCase(unittest.TestCase):
    agent = None

    def assertStatus(self, r, status):
        self.assertFalse(r.timed_out, "dig got no reply:\n%r" % r)
        if "query response not set" in r.out and self.agent is not None:
            self.fail("reply without QR (port shared with %s?):\n%r" % (self.agent.port_shared(), r))
        self.assertEqual(r.status, status, "%r" % r)

    def assertSoaAuthority(self, r, domain="consul."):
        soa = r.records("authority", "SOA")
        self.assertEqual(len(soa), 1, "expected exactly one SOA in authority:\n%r" % r)
        self.assertEqual(soa[0]["name"].lower(), domain)
        fields = soa[0]["data"].split()
        self.assertEqual(fields[0], "ns." + domain, "%r" % r)
        self.assertEqual(fields[1], "hostmaster." + domain, "%r" % r)
        self.assertEqual(fields[3:], ["3600", "600", "86400", "0"], "%r" % r)
        self.assertEqual(soa[0]["ttl"], 0)
        return soa[0]

    def assertNoData(self, r):
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.answer, [], "%r" % r)
        self.assertSoaAuthority(r)

    def assertNxdomain(self, r):
        self.assertStatus(r, "NXDOMAIN")
        self.assertEqual(r.answer, [], "%r" % r)
        self.assertSoaAuthority(r)


class TestDnsDig(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={}, seed=base_seed()).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def tearDown(self):
        self.assertTrue(self.agent.alive(), "agent died:\n" + self.agent.log_text())

    # ---- nodes ------------------------------------------------------------------------------

    def test_node_a(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("foo.node.consul", "A", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertIn("aa", r.flags)
                self.assertIn("qr", r.flags)
                self.assertNotIn("ra", r.flags)
                self.assertEqual([(x["name"], x["type"], x["data"], x["ttl"]) for x in r.answer],
                                 [("foo.node.consul.", "A", "127.0.0.1", 0)], "%r" % r)
                # node meta TXT goes to additional for A (enable_additional_node_meta_txt default on)
                self.assertEqual(r.data("additional", "TXT"), ['"key=value"'], "%r" % r)

    def test_node_aaaa_from_tagged_lan_ipv6(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("foo.node.consul", "AAAA", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual(r.data("answer", "AAAA"), ["::1"], "%r" % r)
                self.assertEqual(len(r.answer), 1, "%r" % r)

    def test_node_aaaa_v4_only_node_empty_noerror(self):
        # node with no address of the asked family: NOERROR, empty, no SOA (table 1.9)
        r = self.agent.dig("web1.node.consul", "AAAA")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.answer, [], "%r" % r)
        self.assertEqual(r.records("authority", "SOA"), [], "%r" % r)

    def test_node_txt(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("foo.node.consul", "TXT", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual([(x["type"], x["data"]) for x in r.answer],
                                 [("TXT", '"key=value"')], "%r" % r)

    def test_node_any(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("foo.node.consul", "ANY", *opts)
                self.assertStatus(r, "NOERROR")
                got = sorted((x["name"], x["type"], x["data"], x["ttl"]) for x in r.answer)
                self.assertEqual(got, [("foo.node.consul.", "A", "127.0.0.1", 0),
                                       ("foo.node.consul.", "TXT", '"key=value"', 0)], "%r" % r)
                self.assertEqual(r.additional, [], "%r" % r)

    def test_node_with_dc(self):
        r = self.agent.dig("foo.node.dc1.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.1"])

    def test_node_unsupported_qtype_is_empty_noerror(self):
        for name in ("foo.node.consul", "nosuchnode.node.consul"):
            with self.subTest(name=name):
                r = self.agent.dig(name, "MX")
                self.assertStatus(r, "NOERROR")
                self.assertEqual(r.answer, [], "%r" % r)
                self.assertEqual(r.authority, [], "%r" % r)

    def test_unknown_node_nxdomain(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                self.assertNxdomain(self.agent.dig("nosuchnode.node.consul", "A", *opts))

    # ---- services -----------------------------------------------------------------------------

    def test_service_a_health_filtered(self):
        # critical service check (web6) and critical node check (web7) drop the instance,
        # warning (web5) stays in.
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("web.service.consul", "A", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertIn("aa", r.flags)
                self.assertEqual(r.data("answer", "A"), WEB_HEALTHY, "%r" % r)
                self.assertEqual(len(r.answer), 5)
                for rr in r.answer:
                    self.assertEqual(rr["name"], "web.service.consul.")
                    self.assertEqual(rr["ttl"], 0)

    def test_service_with_address(self):
        r = self.agent.dig("db.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.2"], "%r" % r)

    def test_tag_filter(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("rails.web.service.consul", "A", *opts)
                self.assertStatus(r, "NOERROR")
                # web6/web7 also carry rails but are critical
                self.assertEqual(r.data("answer", "A"), ["127.0.0.11", "127.0.0.12"], "%r" % r)
                self.assertEqual(r.answer[0]["name"], "rails.web.service.consul.")

    def test_tag_filter_case_insensitive(self):
        r = self.agent.dig("RAILS.Web.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.11", "127.0.0.12"], "%r" % r)

    def test_unknown_tag_nxdomain(self):
        self.assertNxdomain(self.agent.dig("nosuchtag.web.service.consul", "A"))

    def _check_web_srv(self, r, qname, ips):
        self.assertStatus(r, "NOERROR")
        srv = r.records("answer", "SRV")
        self.assertEqual(len(srv), len(ips), "%r" % r)
        self.assertEqual(len(r.answer), len(ips), "%r" % r)
        targets = []
        for rr in srv:
            self.assertEqual(rr["name"], qname)
            prio, weight, port, target = rr["data"].split()
            self.assertEqual((prio, weight, port), ("1", "1", "80"), "%r" % r)
            targets.append(target)
        want_targets = sorted("web%d.node.dc1.consul." % (int(ip.split(".")[-1]) - 10) for ip in ips)
        self.assertEqual(sorted(targets), want_targets, "%r" % r)
        # every target has its A record in additional
        add_a = {x["name"]: x["data"] for x in r.records("additional", "A")}
        for ip in ips:
            t = "web%d.node.dc1.consul." % (int(ip.split(".")[-1]) - 10)
            self.assertEqual(add_a.get(t), ip, "missing additional A for %s:\n%r" % (t, r))

    def test_rfc2782_srv(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("_web._tcp.service.consul", "SRV", *opts)
                self._check_web_srv(r, "_web._tcp.service.consul.", WEB_HEALTHY)

    def test_rfc2782_srv_without_service_label_and_with_tag(self):
        r = self.agent.dig("_web._tcp.consul", "SRV")
        self._check_web_srv(r, "_web._tcp.consul.", WEB_HEALTHY)
        r = self.agent.dig("_web._rails.service.consul", "SRV")
        self._check_web_srv(r, "_web._rails.service.consul.", ["127.0.0.11", "127.0.0.12"])

    def test_srv_over_tcp(self):
        r = self.agent.dig("web.service.consul", "SRV", "+tcp")
        self._check_web_srv(r, "web.service.consul.", WEB_HEALTHY)
        self.assertIn("(TCP)", r.out)

    def test_srv_service_address_target_is_addr_name(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("db.service.consul", "SRV", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual([x["data"] for x in r.answer],
                                 ["1 1 12345 7f000002.addr.dc1.consul."], "%r" % r)
                add = sorted((x["name"], x["type"], x["data"]) for x in r.additional)
                self.assertEqual(add, [("7f000002.addr.dc1.consul.", "A", "127.0.0.2"),
                                       ("foo.node.dc1.consul.", "TXT", '"key=value"')], "%r" % r)

    def test_unknown_service_nxdomain(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                for qtype in ("A", "AAAA", "SRV", "ANY"):
                    self.assertNxdomain(self.agent.dig("nosuch.service.consul", qtype, *opts))

    def test_all_critical_service_nxdomain(self):
        self.assertNxdomain(self.agent.dig("sick.service.consul", "A"))
        self.assertNxdomain(self.agent.dig("sick.service.consul", "SRV"))

    def test_nodata_for_missing_family(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("webv4.service.consul", "A", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual(r.data("answer", "A"), ["127.0.0.20"])
                self.assertNoData(self.agent.dig("webv4.service.consul", "AAAA", *opts))
                r = self.agent.dig("webv6.service.consul", "AAAA", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual(r.data("answer", "AAAA"), ["fd00::20"])
                self.assertNoData(self.agent.dig("webv6.service.consul", "A", *opts))

    def test_other_qtype_on_service_nodata(self):
        self.assertNoData(self.agent.dig("web.service.consul", "MX"))

    def test_noedns_answer_cap(self):
        # plain UDP without EDNS: at most udp_answer_limit (3) answers, TC clear by default
        for qtype in ("A", "SRV"):
            with self.subTest(qtype=qtype):
                r = self.agent.dig("web.service.consul", qtype, "+noedns", "+ignore")
                self.assertStatus(r, "NOERROR")
                self.assertIsNone(r.edns, "reply to a non-EDNS query must not carry OPT:\n%r" % r)
                self.assertEqual(len(r.answer), 3, "%r" % r)
                self.assertNotIn("tc", r.flags, "%r" % r)
                if qtype == "SRV":
                    targets = {x["data"].split()[3] for x in r.answer}
                    add_names = {x["name"] for x in r.records("additional", "A")}
                    self.assertEqual(add_names, targets, "additional must match the kept targets")
        # EDNS: everything that fits
        r = self.agent.dig("web.service.consul", "A")
        self.assertEqual(len(r.answer), 5, "%r" % r)
        self.assertIsNotNone(r.edns)
        # TCP without EDNS is not capped by udp_answer_limit
        r = self.agent.dig("web.service.consul", "A", "+noedns", "+tcp")
        self.assertEqual(len(r.answer), 5, "%r" % r)

    def test_edns_size_echoed(self):
        r = self.agent.dig("web.service.consul", "A", "+bufsize=4000")
        self.assertStatus(r, "NOERROR")
        self.assertIsNotNone(r.edns, "%r" % r)
        self.assertEqual(r.edns["udp"], 4000, "%r" % r)

    def test_case_preserved(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("WeB.SeRvIcE.CoNsUl", "A", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual(len(r.answer), 5, "%r" % r)
                self.assertEqual({x["name"] for x in r.answer}, {"WeB.SeRvIcE.CoNsUl."}, "%r" % r)
                self.assertEqual([q["name"] for q in r.question], ["WeB.SeRvIcE.CoNsUl."])
                r = self.agent.dig("FoO.NoDe.CoNsUl", "A", *opts)
                self.assertEqual([(x["name"], x["data"]) for x in r.records("answer", "A")],
                                 [("FoO.NoDe.CoNsUl.", "127.0.0.1")], "%r" % r)

    def test_addr(self):
        r = self.agent.dig("7f000001.addr.dc1.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual([(x["type"], x["data"]) for x in r.answer], [("A", "127.0.0.1")])

    # ---- PTR, SOA, NS -------------------------------------------------------------------------

    def test_ptr(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig(None, None, "-x", "127.0.0.11", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertIn("aa", r.flags)
                self.assertEqual([(x["name"], x["type"], x["data"], x["ttl"]) for x in r.answer],
                                 [("11.0.0.127.in-addr.arpa.", "PTR", "web1.node.dc1.consul.", 0)],
                                 "%r" % r)
                r = self.agent.dig(None, None, "-x", "127.0.0.2", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertEqual([x["data"] for x in r.records("answer", "PTR")],
                                 ["db.service.dc1.consul."], "%r" % r)

    def test_ptr_unknown_nxdomain(self):
        # spec 1.7: deviate from legacy SERVFAIL, answer NXDOMAIN + SOA when no recursors
        r = self.agent.dig(None, None, "-x", "127.0.0.99")
        self.assertStatus(r, "NXDOMAIN")
        self.assertEqual(r.answer, [])
        self.assertEqual(len(r.records("authority", "SOA")), 1, "%r" % r)

    def test_soa(self):
        for tname, opts in TRANSPORTS:
            for name in ("consul", "whatever.does.not.exist.consul", "web.service.consul"):
                with self.subTest(transport=tname, name=name):
                    r = self.agent.dig(name, "SOA", *opts)
                    self.assertStatus(r, "NOERROR")
                    self.assertIn("aa", r.flags)
                    soa = r.records("answer", "SOA")
                    self.assertEqual(len(soa), 1, "%r" % r)
                    self.assertEqual(len(r.answer), 1, "%r" % r)
                    self.assertEqual(soa[0]["name"], "consul.")
                    f = soa[0]["data"].split()
                    self.assertEqual(f[:2], ["ns.consul.", "hostmaster.consul."])
                    self.assertAlmostEqual(int(f[2]), time.time(), delta=60)
                    self.assertEqual(f[3:], ["3600", "600", "86400", "0"])
                    ns = r.records("authority", "NS")
                    self.assertEqual([(x["name"], x["data"]) for x in ns],
                                     [("consul.", "itest.node.dc1.consul.")], "%r" % r)
                    glue = r.records("additional", "A")
                    self.assertEqual([(x["name"], x["data"]) for x in glue],
                                     [("itest.node.dc1.consul.", "127.0.0.1")], "%r" % r)

    def test_ns(self):
        for tname, opts in TRANSPORTS:
            for name in ("consul", "something.node.consul"):
                with self.subTest(transport=tname, name=name):
                    r = self.agent.dig(name, "NS", *opts)
                    self.assertStatus(r, "NOERROR")
                    self.assertEqual([(x["name"], x["type"], x["data"], x["ttl"]) for x in r.answer],
                                     [("consul.", "NS", "itest.node.dc1.consul.", 0)], "%r" % r)
                    glue = r.records("additional", "A")
                    self.assertEqual([(x["name"], x["data"]) for x in glue],
                                     [("itest.node.dc1.consul.", "127.0.0.1")], "%r" % r)

    def test_axfr_notimp(self):
        q = harness.build_query("consul", "AXFR", qid=0x1111)
        for tname, reply in (("tcp", harness.tcp_exchange(self.agent.dns_port, q)),
                             ("udp", harness.udp_exchange(self.agent.dns_port, q))):
            with self.subTest(transport=tname):
                self.assertIsNotNone(reply, "no reply to AXFR")
                h = harness.parse_header(reply)
                self.assertEqual((h["id"], h["qr"], h["rcode_name"]), (0x1111, True, "NOTIMP"), "%r" % h)

    def test_bad_names_nxdomain(self):
        for name, qtype in (("nonexisting.consul", "ANY"), ("consul.service.dc2.consul", "ANY"),
                            ("service.consul", "SRV"), ("foo.service.dc1.extra.more.consul", "SRV")):
            with self.subTest(name=name):
                self.assertNxdomain(self.agent.dig(name, qtype))

    def test_rd_copied(self):
        r = self.agent.dig("web.service.consul", "A", "+norecurse")
        self.assertStatus(r, "NOERROR")
        self.assertNotIn("rd", r.flags, "%r" % r)
        r = self.agent.dig("web.service.consul", "A")
        self.assertIn("rd", r.flags, "%r" % r)

    def test_srv_weights(self):
        r = self.agent.dig("wt.service.consul", "SRV")
        self.assertStatus(r, "NOERROR")
        got = sorted((x["data"].split()[3], x["data"].split()[1]) for x in r.answer)
        self.assertEqual(got, [("wt1.node.dc1.consul.", "10"), ("wt2.node.dc1.consul.", "3")], "%r" % r)

    def test_shuffle(self):
        orders = set()
        for _ in range(10):
            r = self.agent.dig("web.service.consul", "A", "+noedns", "+ignore")
            self.assertEqual(len(r.answer), 3, "%r" % r)
            orders.add(tuple(x["data"] for x in r.answer))
        self.assertGreaterEqual(len(orders), 2, "answers are never shuffled: %s" % orders)

    def test_big_answers_and_size_limits(self):
        # EDNS 8192: all 30
        r = self.agent.dig("big.service.consul", "SRV", "+bufsize=8192")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(len(r.answer), 30, "%r" % r)
        self.assertEqual(len(r.records("additional", "A")), 30, "%r" % r)
        # TCP: all 30
        r = self.agent.dig("big.service.consul", "SRV", "+tcp")
        self.assertEqual(len(r.answer), 30, "%r" % r)
        # no EDNS: 3, silently (no TC)
        r = self.agent.dig("big.service.consul", "SRV", "+noedns", "+ignore")
        self.assertEqual(len(r.answer), 3, "%r" % r)
        self.assertNotIn("tc", r.flags)
        self.assertLessEqual(r.msg_size, 512)
        # dig's default EDNS 1232: as many as fit, reply within 1232 bytes, no TC by default
        r = self.agent.dig("big.service.consul", "SRV", "+ignore")
        self.assertStatus(r, "NOERROR")
        self.assertGreater(len(r.answer), 3, "EDNS must not apply udp_answer_limit:\n%r" % r)
        self.assertLess(len(r.answer), 30, "%r" % r)
        self.assertLessEqual(r.msg_size, 1232, "%r" % r)
        self.assertNotIn("tc", r.flags, "%r" % r)
        targets = {x["data"].split()[3] for x in r.answer}
        self.assertEqual({x["name"] for x in r.records("additional", "A")}, targets, "%r" % r)
        # A over EDNS 8192: 30 addresses
        r = self.agent.dig("big.service.consul", "A", "+bufsize=8192")
        self.assertEqual(len(r.answer), 30, "%r" % r)

    def test_ecs_echoed(self):
        r = self.agent.dig("web.service.consul", "A", "+subnet=198.18.0.1/32")
        self.assertStatus(r, "NOERROR")
        self.assertRegex(r.out, r"CLIENT-SUBNET: 198\.18\.0\.1/32/0", "%r" % r)
        r = self.agent.dig("nosuch.service.consul", "A", "+subnet=198.18.0.0/21")
        self.assertStatus(r, "NXDOMAIN")
        self.assertRegex(r.out, r"CLIENT-SUBNET: 198\.18\.0\.0/21/0", "%r" % r)

    # ---- outside the domain -------------------------------------------------------------------

    def test_refused_outside_domain_without_recursors(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("example.org", "A", *opts)
                self.assertStatus(r, "REFUSED")
                self.assertNotIn("aa", r.flags, "%r" % r)
                self.assertNotIn("ra", r.flags, "%r" % r)
                self.assertEqual(r.answer + r.authority, [], "%r" % r)
                self.assertEqual([q["name"] for q in r.question], ["example.org."], "%r" % r)
                self.assertIsNone(r.edns, "REFUSED carries no OPT:\n%r" % r)


class TestTruncate(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={"dns_config": {"enable_truncate": True}}, seed=base_seed()).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_enable_truncate_sets_tc(self):
        for qtype in ("A", "SRV"):
            with self.subTest(qtype=qtype):
                r = self.agent.dig("web.service.consul", qtype, "+noedns", "+ignore")
                self.assertStatus(r, "NOERROR")
                self.assertIn("tc", r.flags, "%r" % r)
                self.assertEqual(len(r.answer), 3, "%r" % r)
        # nothing removed: no TC
        r = self.agent.dig("rails.web.service.consul", "A", "+noedns", "+ignore")
        self.assertNotIn("tc", r.flags, "%r" % r)
        self.assertEqual(len(r.answer), 2)
        # EDNS and TCP: all answers, no TC
        for opts in ((), ("+tcp",), ("+tcp", "+noedns")):
            with self.subTest(opts=opts):
                r = self.agent.dig("web.service.consul", "A", *opts)
                self.assertNotIn("tc", r.flags, "%r" % r)
                self.assertEqual(len(r.answer), 5, "%r" % r)

    def test_dig_retries_over_tcp_after_tc(self):
        # without +ignore dig falls back to TCP on TC=1 and gets every answer
        r = self.agent.dig("web.service.consul", "A", "+noedns")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(len(r.answer), 5, "%r" % r)


class TestDnsConfigKnobs(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={"dns_config": {
            "udp_answer_limit": 2, "service_ttl": {"*": "5s", "d*": "42s", "db": "10s"},
            "node_ttl": "10s", "a_record_limit": 4, "enable_additional_node_meta_txt": False,
            "soa": {"min_ttl": 60, "expire": 43200}}},
            seed=base_seed(), extra_args=["-dns-workers", "3"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_configured_limit_and_ttls(self):
        r = self.agent.dig("web.service.consul", "A", "+noedns", "+ignore")
        self.assertEqual(len(r.answer), 2, "%r" % r)
        self.assertEqual({x["ttl"] for x in r.answer}, {5})
        r = self.agent.dig("web.service.consul", "SRV")
        self.assertEqual(len(r.answer), 5, "SRV is not cut by a_record_limit:\n%r" % r)
        self.assertEqual({x["ttl"] for x in r.answer + r.records("additional", "A")}, {5}, "%r" % r)
        r = self.agent.dig("db.service.consul", "SRV")
        self.assertEqual({x["ttl"] for x in r.answer + r.records("additional", "A")}, {10}, "%r" % r)
        r = self.agent.dig("foo.node.consul", "A")
        self.assertEqual([x["ttl"] for x in r.answer], [10], "%r" % r)
        self.assertEqual(r.records("additional", "TXT"), [], "enable_additional_node_meta_txt=false")
        r = self.agent.dig("consul", "NS")
        self.assertEqual([x["ttl"] for x in r.answer], [10], "NS TTL = node_ttl:\n%r" % r)

    def test_a_record_limit(self):
        for opts in ((), ("+tcp",)):
            with self.subTest(opts=opts):
                r = self.agent.dig("web.service.consul", "A", *opts)
                self.assertEqual(len(r.answer), 4, "%r" % r)

    def test_soa_knobs(self):
        r = self.agent.dig("nosuch.service.consul", "A")
        self.assertStatus(r, "NXDOMAIN")
        soa = r.records("authority", "SOA")
        self.assertEqual(len(soa), 1, "%r" % r)
        self.assertEqual(soa[0]["ttl"], 60, "SOA TTL = min_ttl:\n%r" % r)
        self.assertEqual(soa[0]["data"].split()[3:], ["3600", "600", "43200", "60"], "%r" % r)


class TestDomains(DigTestCase):
    """-domain / -alt-domain flags (=value and double-dash forms) and -config-file."""

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={}, seed=base_seed())
        extra = cls.agent.write_file("../extra.json", {"dns_config": {"service_ttl": {"web": "7s"}}})
        cls.agent.extra_args = ["-domain=mydomain", "--alt-domain", "test-domain.", "-config-file", extra]
        cls.agent.start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_primary_domain(self):
        r = self.agent.dig("web.service.mydomain", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), WEB_HEALTHY)
        self.assertEqual({x["ttl"] for x in r.answer}, {7}, "-config-file service_ttl:\n%r" % r)
        r = self.agent.dig("web.service.consul", "A")
        self.assertStatus(r, "REFUSED")

    def test_alt_domain(self):
        r = self.agent.dig("db.service.test-domain", "SRV")
        self.assertStatus(r, "NOERROR")
        self.assertEqual([x["data"] for x in r.answer], ["1 1 12345 7f000002.addr.dc1.test-domain."])
        add = sorted((x["name"], x["type"]) for x in r.additional)
        self.assertEqual(add, [("7f000002.addr.dc1.test-domain.", "A"),
                               ("foo.node.dc1.test-domain.", "TXT")], "%r" % r)
        r = self.agent.dig("web1.node.test-domain", "SOA")
        self.assertStatus(r, "NOERROR")
        soa = r.records("answer", "SOA")
        self.assertEqual(soa[0]["name"], "test-domain.")
        self.assertEqual(soa[0]["data"].split()[:2], ["ns.test-domain.", "hostmaster.test-domain."])
        self.assertNxdomain_in(self.agent.dig("nosuch.service.test-domain", "A"), "test-domain.")

    def test_ptr_uses_primary_domain(self):
        r = self.agent.dig(None, None, "-x", "127.0.0.11")
        self.assertEqual(r.data("answer", "PTR"), ["web1.node.dc1.mydomain."], "%r" % r)

    def assertNxdomain_in(self, r, domain):
        self.assertStatus(r, "NXDOMAIN")
        self.assertSoaAuthority(r, domain)


class TestOnlyPassingAndReload(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={"dns_config": {"only_passing": True}}, seed=base_seed()).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def web_ips(self):
        r = self.agent.dig("web.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        return r.data("answer", "A")

    def wait_web_ips(self, want, timeout=5.0):
        try:
            return harness.wait_for(lambda: self.web_ips() == want, timeout,
                                    interval=0.1, what="web A == %s" % want)
        except TimeoutError:
            self.assertEqual(self.web_ips(), want, "after SIGHUP reload; log:\n" + self.agent.log_text())

    def test_reload_sequence(self):
        # only_passing=true drops the warning instance (web5)
        self.assertEqual(self.web_ips(), WEB_PASSING)
        r = self.agent.dig("webv4.service.consul", "A")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.20"], "instances without checks stay")

        # SIGHUP with only_passing=false: warning is back
        self.agent.reload({"dns_config": {"only_passing": False}})
        self.wait_web_ips(WEB_HEALTHY)

        # broken config: keeps answering with the old (only_passing=false) config and logs an error
        log_before = len(self.agent.log_text())
        self.agent.reload('{"dns_config": {"only_passing": tru')
        harness.wait_for(lambda: len(self.agent.log_text()) > log_before, 5,
                         what="an error in the log after a broken reload")
        time.sleep(0.5)
        self.assertTrue(self.agent.alive(), "agent exited on a broken reload:\n" + self.agent.log_text())
        self.assertEqual(self.web_ips(), WEB_HEALTHY)
        self.assertEqual(self.web_ips(), WEB_HEALTHY)
        new_log = self.agent.log_text()[log_before:]
        self.assertRegex(new_log.lower(), r"error|fail|invalid", new_log)

        # a valid reload afterwards still works
        self.agent.reload({"dns_config": {"only_passing": True}})
        self.wait_web_ips(WEB_PASSING)


class TestRecursor(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = FakeUpstream().start()
        seed = base_seed() + [
            seed_entry("extnode", "www.example.com"),
            seed_entry("h1", "127.0.0.50", service=svc("ext", 443, address="www.example.com"))]
        cls.agent = Agent(config={"dns_config": {"recursor_timeout": "1s", "service_ttl": {"ext": "9s"}}},
                          seed=seed, extra_args=["-recursor", "127.0.0.1:%d" % cls.up.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        cls.up.stop()

    def test_forwarded_answer(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("example.org", "A", *opts)
                self.assertStatus(r, "NOERROR")
                self.assertIn("ra", r.flags, "%r" % r)
                self.assertEqual([(x["name"], x["type"], x["data"]) for x in r.answer],
                                 [("example.org.", "A", "1.2.3.4")], "%r" % r)
                self.assertEqual(self.up.queries[-1], ("example.org.", "A", tname),
                                 "forwarded over the client's transport")

    def test_upstream_tc_passed_through(self):
        self.up.tc_names.add("big.example.org")
        r = self.agent.dig("big.example.org", "A", "+ignore")
        self.assertStatus(r, "NOERROR")
        self.assertIn("tc", r.flags, "an upstream reply with TC must reach the client with TC:\n%r" % r)

    def test_tcp_client_query_forwarded_over_tcp(self):
        # spec 1.11: forwarded over the client's own transport, so a TCP client never sees the
        # truncated UDP reply of the upstream
        self.up.tc_names.add("big.example.org")
        r = self.agent.dig("big.example.org", "A", "+tcp")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(self.up.queries[-1], ("big.example.org.", "A", "tcp"),
                         "a TCP client query must be forwarded over TCP")
        self.assertNotIn("tc", r.flags, "%r" % r)
        self.assertEqual(r.data("answer", "A"), ["1.2.3.5"], "%r" % r)

    def test_node_hostname_resolved_through_recursor(self):
        # spec 1.3 / case 8: CNAME Q -> host, followed by the upstream's answer for host
        for qtype in ("A", "ANY"):
            with self.subTest(qtype=qtype):
                r = self.agent.dig("extnode.node.consul", qtype)
                self.assertStatus(r, "NOERROR")
                got = [(x["name"], x["type"], x["data"]) for x in r.answer]
                self.assertEqual(got, [("extnode.node.consul.", "CNAME", "www.example.com."),
                                       ("www.example.com.", "A", "1.2.3.6")], "%r" % r)

    def test_service_hostname_resolved_through_recursor(self):
        # spec 1.4.1 FQDN mode
        r = self.agent.dig("ext.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual([(x["name"], x["type"], x["data"]) for x in r.answer],
                         [("ext.service.consul.", "CNAME", "www.example.com."),
                          ("www.example.com.", "A", "1.2.3.6")], "%r" % r)
        r = self.agent.dig("ext.service.consul", "SRV")
        self.assertStatus(r, "NOERROR")
        self.assertEqual([x["data"] for x in r.answer], ["1 1 443 www.example.com."], "%r" % r)
        self.assertEqual([(x["name"], x["type"], x["data"], x["ttl"]) for x in r.additional],
                         [("www.example.com.", "A", "1.2.3.6", 9)],
                         "additional: the resolved record with the service TTL\n%r" % r)

    def test_forwarded_nxdomain(self):
        r = self.agent.dig("nothere.example.net", "A")
        self.assertStatus(r, "NXDOMAIN")
        self.assertIn("ra", r.flags)

    def test_ra_on_local_answers_and_no_forwarding_inside_domain(self):
        n_before = len(self.up.queries)
        r = self.agent.dig("web.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertIn("ra", r.flags, "RA=1 when recursors are configured:\n%r" % r)
        self.assertIn("aa", r.flags)
        r = self.agent.dig("nosuch.service.consul", "A")
        self.assertNxdomain(r)
        self.assertEqual(self.up.queries[n_before:], [], "queries inside D must not be forwarded")


class TestSilentRecursor(DigTestCase):
    @classmethod
    def setUpClass(cls):
        cls.silent = FakeUpstream(silent=True).start()
        cls.good = FakeUpstream().start()
        cls.echo = FakeUpstream(echo=True).start()
        cls.agent = Agent(config={"dns_config": {"recursor_timeout": "1s"}},
                          extra_args=["-recursor", "127.0.0.1:%d" % cls.silent.port]).start()
        cls.agent2 = Agent(config={"recursors": ["127.0.0.1:%d" % cls.silent.port,
                                                 "127.0.0.1:%d" % cls.good.port],
                                   "dns_config": {"recursor_timeout": "1s"}}).start()
        cls.agent3 = Agent(config={"dns_config": {"recursor_timeout": "1s"}},
                           extra_args=["-recursor", "127.0.0.1:%d" % cls.echo.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        cls.agent2.close()
        cls.agent3.close()
        cls.silent.stop()
        cls.good.stop()
        cls.echo.stop()

    def test_a_recursor_echoing_the_query_is_no_answer(self):
        # A datagram without QR is not a response: the client gets SERVFAIL at the timeout,
        # never its own query back (which used to be relayed to it as the "answer").
        r = self.agent3.dig("example.org", "A", time_s=5)
        self.assertStatus(r, "SERVFAIL")
        self.assertIn("qr", r.flags, "%r" % r)
        self.assertGreater(r.elapsed, 0.8, "answered before recursor_timeout")

    def test_silent_recursor_servfail_after_timeout(self):
        for tname, opts in TRANSPORTS:
            with self.subTest(transport=tname):
                r = self.agent.dig("example.org", "A", *opts, time_s=5)
                self.assertStatus(r, "SERVFAIL")
                self.assertIn("ra", r.flags, "%r" % r)
                self.assertEqual(r.answer, [])
                self.assertIsNotNone(r.edns, "SERVFAIL carries OPT when the query had one:\n%r" % r)
                self.assertGreater(r.elapsed, 0.8, "SERVFAIL came before recursor_timeout")
                self.assertLess(r.elapsed, 2.5, "SERVFAIL took much longer than recursor_timeout=1s")

    def test_sequential_falls_through_to_next(self):
        r = self.agent2.dig("example.org", "A", time_s=5)
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["1.2.3.4"], "%r" % r)
        self.assertGreater(r.elapsed, 0.8)


class TestReloadMore(DigTestCase):
    """SIGHUP reloads every dns_config knob, recursors and services from the config dir (1.15)."""

    @classmethod
    def setUpClass(cls):
        cls.up = FakeUpstream().start()
        cls.agent = Agent(config={}, seed=base_seed(), extra_args=["-node-meta", "rack:r1"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()
        cls.up.stop()

    def test_node_meta_flag(self):
        r = self.agent.dig("itest.node.consul", "TXT")
        self.assertStatus(r, "NOERROR")
        self.assertIn('"rack=r1"', r.data("answer", "TXT"), "%r" % r)

    def test_reload_knobs_recursors_and_services(self):
        a = self.agent
        self.assertEqual(len(a.dig("web.service.consul", "A", "+noedns", "+ignore").answer), 3)
        self.assertStatus(a.dig("example.org", "A"), "REFUSED")
        self.assertNxdomain(a.dig("newsvc.service.consul", "A"))

        a.write_file("50-new.json", {"service": {"name": "newsvc", "port": 1234}})
        a.reload({"recursors": ["127.0.0.1:%d" % self.up.port],
                  "dns_config": {"udp_answer_limit": 1, "enable_truncate": True, "node_ttl": "3s"}})

        def reloaded():
            return len(a.dig("web.service.consul", "A", "+noedns", "+ignore").answer) == 1
        try:
            harness.wait_for(reloaded, 5, interval=0.1, what="udp_answer_limit=1 after SIGHUP")
        except TimeoutError:
            self.fail("udp_answer_limit not reloaded; log:\n" + a.log_text())
        r = a.dig("web.service.consul", "A", "+noedns", "+ignore")
        self.assertIn("tc", r.flags, "enable_truncate reloaded:\n%r" % r)
        r = a.dig("foo.node.consul", "A")
        self.assertEqual([x["ttl"] for x in r.answer], [3], "node_ttl reloaded:\n%r" % r)
        r = a.dig("example.org", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["1.2.3.4"], "recursors reloaded:\n%r" % r)
        self.assertIn("ra", r.flags)
        r = a.dig("newsvc.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.1"], "service file added before SIGHUP")

        # and back: removing the file and the recursors
        os.unlink(os.path.join(a.config_dir, "50-new.json"))
        a.reload({})
        harness.wait_for(lambda: a.dig("example.org", "A").status == "REFUSED", 5, interval=0.1,
                         what="REFUSED once recursors are removed")
        self.assertNxdomain(a.dig("newsvc.service.consul", "A"))
        self.assertEqual(len(a.dig("web.service.consul", "A", "+noedns", "+ignore").answer), 3)


WEB_JSON = ('{"service": {"name": "web", "tags": ["rails"], "port": 80, '
            '"check": {"args": ["curl", "localhost"], "interval": "10s"}}}')


class TestLocalServicesFromConfig(DigTestCase):
    @classmethod
    def setUpClass(cls):
        # The README's seed example (conf/services/web.json now checks the dev agent and passes).
        web_json = WEB_JSON
        cls.agent = Agent(
            config={"enable_local_script_checks": True},
            extra_config_files={
                "10-web.json": web_json,
                "20-api.json": {"service": {"name": "api", "port": 9000, "check": {
                    "args": ["true"], "interval": "10s", "status": "passing"}}},
                "30-plain.json": {"services": [{"name": "plain", "port": 9100}]},
            }).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_critical_script_check_hides_service(self):
        for qtype in ("A", "SRV"):
            with self.subTest(qtype=qtype):
                self.assertNxdomain(self.agent.dig("web.service.consul", qtype))
                self.assertNxdomain(self.agent.dig("rails.web.service.consul", qtype))

    def test_passing_check_answers(self):
        r = self.agent.dig("api.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.1"], "%r" % r)
        r = self.agent.dig("api.service.consul", "SRV")
        self.assertEqual([x["data"] for x in r.answer], ["1 1 9000 itest.node.dc1.consul."], "%r" % r)

    def test_service_without_check_answers(self):
        r = self.agent.dig("plain.service.consul", "A")
        self.assertStatus(r, "NOERROR")
        self.assertEqual(r.data("answer", "A"), ["127.0.0.1"], "%r" % r)


class TestLifecycle(unittest.TestCase):
    def test_sigterm_exits_cleanly(self):
        a = Agent(config={}).start()
        try:
            t0 = time.monotonic()
            a.proc.send_signal(harness.signal.SIGTERM)
            try:
                rc = a.proc.wait(timeout=5)
            except harness.subprocess.TimeoutExpired:
                self.fail("agent did not exit within 5 s of SIGTERM")
            self.assertEqual(rc, 0, a.log_text())
            self.assertLess(time.monotonic() - t0, 5)
            self.assertFalse(harness.dns_alive(a.dns_port, 0.3), "DNS still answering after exit")
        finally:
            a.close()


class TestBadStartup(unittest.TestCase):
    def assertStartFails(self, **kw):
        a = Agent(**kw)
        try:
            with self.assertRaises(RuntimeError):
                a.start(timeout=5)
        finally:
            a.close()

    def test_recursor_0000_rejected(self):
        # spec 1.11: 0.0.0.0 is rejected
        self.assertStartFails(config={}, extra_args=["-recursor", "0.0.0.0"])

    def test_negative_udp_answer_limit_rejected(self):
        self.assertStartFails(config={"dns_config": {"udp_answer_limit": -1}})


class TestPortInUse(unittest.TestCase):
    def test_second_agent_on_same_dns_port_fails(self):
        """Consul fails with "address already in use". Beacon binds with SO_REUSEPORT; a second
        agent on the same port must not start and silently take a share of the queries."""
        first = Agent(config={}, node="first").start()
        second = Agent(config={}, node="second")
        try:
            http = harness.free_port()
            log = open(second.log_path, "ab")
            proc = subprocess.Popen([harness.BEACON, "agent", "-dev", "-node", "second",
                                     "-dns-port", str(first.dns_port), "-http-port", str(http),
                                     "-config-dir", second.config_dir, "-log-level", "info"],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            harness._live_processes.append(proc)
            try:
                try:
                    rc = proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    rc = None
                nodes = set()
                for _ in range(8):
                    r = first.dig("consul", "NS", "+short")
                    nodes.update(r.out.split())
                self.assertIsNotNone(rc, "the second agent is running on a DNS port already in use "
                                         "(NS answers seen: %s)" % sorted(nodes))
                self.assertNotEqual(rc, 0)
            finally:
                harness.stop_process(proc)
                log.close()
        finally:
            first.close()
            second.close()


class TestScriptChecksDisabled(unittest.TestCase):
    def test_script_check_without_enable_aborts_startup(self):
        # spec 4.2: a script check when script checks are not enabled aborts start-up
        a = Agent(config={}, extra_config_files={"10-web.json": WEB_JSON})
        try:
            with self.assertRaises(RuntimeError):
                a.start(timeout=5)
        finally:
            a.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
