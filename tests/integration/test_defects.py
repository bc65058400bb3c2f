#!/usr/bin/env python3
"""Defects found in review, through the real binary: more DNS workers than one block of
snapshot reader slots, and hostile HTTP clients (deep JSON, over-long names, pipelining
without reading).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, build_query, check, parse_message, seed_entry, svc  # noqa: E402


class ManyDnsWorkers(unittest.TestCase):
    def test_65_workers_answer(self):
        seed = [seed_entry("web1", "127.0.0.11", service=svc("web", 80),
                           checks=[check("c", "passing", "web")])]
        agent = Agent(config={}, seed=seed, extra_args=["-dns-workers", "65"]).start()
        try:
            # Each exchange uses a fresh socket (a new source port), so SO_REUSEPORT spreads
            # the queries over the workers; every one of them must answer.
            for i in range(300):
                r = harness.udp_exchange(agent.dns_port,
                                         build_query("web.service.consul", "A", qid=i + 1))
                self.assertIsNotNone(r, "no answer to query %d" % i)
                m = parse_message(r)
                self.assertEqual((m["id"], m["rcode_name"]), (i + 1, "NOERROR"))
                self.assertEqual([x["data"] for x in m["answer"]], ["127.0.0.11"])
            for i in range(20):
                r = harness.tcp_exchange(agent.dns_port,
                                         build_query("web.service.consul", "A", qid=1000 + i))
                self.assertIsNotNone(r)
                self.assertEqual(parse_message(r)["rcode_name"], "NOERROR")
            self.assertTrue(agent.alive(), agent.log_text()[-4000:])
            self.assertIn("65 worker(s)", agent.log_text())
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main()
