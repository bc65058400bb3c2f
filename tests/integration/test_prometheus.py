#!/usr/bin/env python3
"""/v1/agent/metrics?format=prometheus scraped by Debian's real Prometheus (2.42).

The agent gets known DNS and HTTP traffic (counted from a baseline read before it), then a
Prometheus on 127.0.0.1:<free port> scrapes the real binary every second, and every assertion
goes through Prometheus' HTTP query API: the text parses, the series carry the types and labels
we wrote (histograms with buckets), and the values match what was sent: DNS answers by qtype and
rcode, dropped and malformed (FORMERR) packets, HTTP requests by route, check runs by type and
result (a TCP check of the agent itself), catalog, process and blocking-query gauges.

Skipped (exit 77) when prometheus is not installed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Agent, build_query, free_port, parse_header, skip, stop_process,  # noqa: E402
                     udp_exchange, wait_for, watchdog)

PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None:
    skip("prometheus is not installed (apt-get install prometheus)")

watchdog(150)


class Prometheus:
    """A Prometheus server scraping one target's /v1/agent/metrics?format=prometheus."""

    def __init__(self, target):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-prom-")
        self.port = free_port()
        self.config = os.path.join(self.tmp.name, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "- job_name: beacon\n"
                    "  metrics_path: /v1/agent/metrics\n"
                    "  params:\n"
                    "    format: [prometheus]\n"
                    "  static_configs:\n"
                    "  - targets: ['%s']\n" % target)
        self.log_path = os.path.join(self.tmp.name, "prometheus.log")
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.config,
             "--storage.tsdb.path=" + os.path.join(self.tmp.name, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.tmp.name)
        harness._live_processes.append(self.proc)  # killed by the watchdog too
        wait_for(lambda: self.proc.poll() is not None or self._ready(), 30,
                 what="prometheus to be ready")
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + self.log_text()[-3000:])
        return self

    def _get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
            return json.load(r)

    def _ready(self):
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                          timeout=1).status == 200
        except OSError:
            return False

    def query(self, expr):
        """The instant vector of `expr`: [(labels, float value), ...]."""
        data = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert data["status"] == "success", data
        return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]

    def value(self, expr):
        """The single value of `expr`, or None while it has no series."""
        res = self.query(expr)
        assert len(res) <= 1, (expr, res)
        return res[0][1] if res else None

    def metadata(self, metric):
        return self._get("/api/v1/metadata?" + urllib.parse.urlencode({"metric": metric}))["data"]

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
        self.tmp.cleanup()


def parse_text(text):
    """{(name, frozenset(labels)): value} from Prometheus text (enough for our own output)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        labels = frozenset()
        name = series
        if "{" in series:
            name, rest = series.split("{", 1)
            pairs = [p for p in rest.rstrip("}").split('",') if p]
            labels = frozenset(tuple(p.rstrip('"').split('="', 1)) for p in pairs)
        out[(name, labels)] = float(value)
    return out


def dns(port, name, qtype):
    r = udp_exchange(port, build_query(name, qtype))
    assert r is not None, (name, qtype)
    return parse_header(r)["rcode_name"]


class TestPrometheus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={
            "telemetry": {"prometheus_retention_time": "60s", "disable_hostname": True},
            "services": [
                {"name": "web", "id": "web-1", "port": 80},
                {"name": "web", "id": "web-2", "port": 81},
                {"name": "db", "port": 5432, "check": {"ttl": "60s"}},
            ]}).start()
        cls.prom = None
        try:
            a = cls.agent
            before = parse_text(a.http("GET", "/v1/agent/metrics?format=prometheus").body.decode())

            def base(name, **labels):
                return before.get((name, frozenset(labels.items())), 0.0)

            cls.base = staticmethod(base)
            # Known DNS traffic; each reply's rcode is checked here too.
            cls.sent = {("A", "NOERROR"): 5, ("SRV", "NOERROR"): 3, ("A", "NXDOMAIN"): 2,
                        ("A", "REFUSED"): 1, ("TXT", "NOERROR"): 1}
            names = {("A", "NOERROR"): "web.service.consul",
                     ("SRV", "NOERROR"): "web.service.consul",
                     ("A", "NXDOMAIN"): "nosuch.service.consul",
                     ("A", "REFUSED"): "example.org",
                     ("TXT", "NOERROR"): "web.service.consul"}
            for (qtype, rcode), n in cls.sent.items():
                for _ in range(n):
                    assert dns(a.dns_port, names[(qtype, rcode)], qtype) == rcode, (qtype, rcode)
            # One malformed packet (a truncated header): dropped, counted.
            assert udp_exchange(a.dns_port, b"\x12\x34\x01", timeout=0.3) is None
            # One well-framed query without a question: answered FORMERR, counted as malformed.
            r = udp_exchange(a.dns_port, b"\x12\x35\x01\x00" + b"\x00" * 8, timeout=1)
            assert r is not None and parse_header(r)["rcode_name"] == "FORMERR", r
            # A check that runs: a TCP probe of the agent's own HTTP port every second.
            assert a.http("PUT", "/v1/agent/check/register",
                          {"Name": "tcp-self", "TCP": a.http_addr, "Interval": "1s"}).status == 200
            # Known HTTP traffic.
            for _ in range(3):
                a.api("GET", "/v1/catalog/services")
            for _ in range(2):
                a.api("GET", "/v1/health/service/web")
            a.api("PUT", "/v1/kv/app/one", "x")
            a.api("PUT", "/v1/kv/app/two", "y")
            assert a.http("GET", "/v1/nosuch").status == 404
            cls.prom = Prometheus(a.http_addr).start()
            wait_for(lambda: cls.prom.value('up{job="beacon"}') == 1, 30,
                     what="prometheus to scrape the agent")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.prom is not None:
            cls.prom.stop()
        cls.agent.close()

    def test_dns_answers_by_qtype_and_rcode(self):
        p = self.prom
        for (qtype, rcode), n in self.sent.items():
            want = self.base("beacon_dns_answers_total", qtype=qtype, rcode=rcode) + n
            got = p.value('beacon_dns_answers_total{qtype="%s",rcode="%s"}' % (qtype, rcode))
            self.assertEqual(got, want, (qtype, rcode))
        self.assertGreaterEqual(p.value("beacon_dns_dropped_total"),
                                self.base("beacon_dns_dropped_total") + 1)
        self.assertEqual(p.value("beacon_dns_refused_total"),
                         self.base("beacon_dns_refused_total") + 1)
        self.assertEqual(p.value("beacon_dns_malformed_total"),
                         self.base("beacon_dns_malformed_total") + 1)

    def test_check_runs_by_type_and_result(self):
        key = 'beacon_health_check_runs_total{status="passing",type="tcp"}'
        wait_for(lambda: (self.prom.value(key) or 0) >= 2, 30,
                 what="two passing TCP probes scraped")

    def test_dns_latency_histogram(self):
        p = self.prom
        buckets = p.query("beacon_dns_answer_duration_seconds_bucket")
        les = sorted(float(lb["le"]) for lb, _ in buckets)
        self.assertEqual(len(les), 22)
        self.assertEqual(les[0], 1e-06)
        self.assertEqual(les[-1], float("inf"))
        # Cumulative: +Inf holds every answer, the count agrees, buckets never decrease.
        by_le = sorted((float(lb["le"]), v) for lb, v in buckets)
        self.assertEqual([v for _, v in by_le], sorted(v for _, v in by_le))
        total_answers = sum(v for _, v in p.query("beacon_dns_answers_total"))
        self.assertEqual(by_le[-1][1], p.value("beacon_dns_answer_duration_seconds_count"))
        self.assertGreaterEqual(by_le[-1][1], total_answers)
        self.assertGreater(p.value("beacon_dns_answer_duration_seconds_sum"), 0)
        q = p.value("histogram_quantile(0.5, beacon_dns_answer_duration_seconds_bucket)")
        self.assertTrue(q is not None and 0 < q < 1, q)
        meta = p.metadata("beacon_dns_answer_duration_seconds")
        self.assertEqual(meta["beacon_dns_answer_duration_seconds"][0]["type"], "histogram")
        self.assertEqual(p.metadata("beacon_dns_answers_total")["beacon_dns_answers_total"][0]
                         ["type"], "counter")

    def test_http_requests_by_route_and_code(self):
        p = self.prom

        def reqs(route, method, code):
            return p.value('beacon_http_requests_total{route="%s",method="%s",code="%s"}'
                           % (route, method, code))

        self.assertEqual(reqs("/v1/catalog/services", "GET", 200), 3)
        self.assertEqual(reqs("/v1/health/service/", "GET", 200), 2)  # the pattern, not the path
        self.assertEqual(reqs("/v1/kv/", "PUT", 200), 2)
        # An unknown path: "unmatched", or the web UI's catch-all "/" route when the UI is on.
        self.assertEqual(p.value('sum(beacon_http_requests_total{route=~"unmatched|/",'
                                 'method="GET",code="404"})'), 1)
        self.assertGreaterEqual(reqs("/v1/agent/metrics", "GET", 200), 1)  # the scrapes
        self.assertEqual(p.value('beacon_http_request_duration_seconds_count'
                                 '{route="/v1/catalog/services",method="GET"}'), 3)
        self.assertEqual(p.value('beacon_http_request_duration_seconds_bucket'
                                 '{route="/v1/catalog/services",method="GET",le="+Inf"}'), 3)
        self.assertEqual(p.value('beacon_kv_ops_total{verb="set"}'),
                         self.base("beacon_kv_ops_total", verb="set") + 2)
        self.assertGreaterEqual(p.value("beacon_kv_commit_duration_seconds_count"), 2)

    def test_blocking_queries_gauge(self):
        p = self.prom
        a = self.agent
        self.assertEqual(p.value("beacon_http_blocking_queries"), 0)
        index = a.http("GET", "/v1/catalog/service/wake").headers["x-consul-index"]
        done = []
        t = threading.Thread(target=lambda: done.append(a.http(
            "GET", "/v1/catalog/service/wake?index=%s&wait=60s" % index, timeout=70)))
        t.start()
        try:
            wait_for(lambda: p.value("beacon_http_blocking_queries") == 1, 15,
                     what="the parked query in prometheus")
        finally:
            a.api("PUT", "/v1/agent/service/register", {"Name": "wake", "Port": 1})
            t.join(20)
        self.assertEqual(done[0].status, 200)
        wait_for(lambda: p.value("beacon_http_blocking_queries") == 0, 15,
                 what="the gauge back at 0")

    def test_catalog_checks_and_process(self):
        p = self.prom
        self.assertEqual(p.value("consul_state_nodes"), 1)
        self.assertGreaterEqual(p.value("consul_state_services"), 3)  # consul, web, db (+wake)
        self.assertGreaterEqual(p.value("consul_state_service_instances"), 4)
        self.assertEqual(p.value('beacon_agent_checks{status="critical"}'), 1)  # db's TTL check
        self.assertGreater(p.value("process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(p.value("process_open_fds"), 3)
        self.assertGreaterEqual(p.value("process_threads"), 3)
        self.assertGreater(p.value("process_start_time_seconds"), 1.6e9)
        self.assertGreaterEqual(p.value("process_cpu_seconds_total"), 0)
        self.assertEqual(p.value("up"), 1)

    def test_json_summary_and_hostname_prefix(self):
        """Consul's JSON shape; without disable_hostname, Consul's gauges carry the hostname."""
        host = socket.gethostname()
        with Agent(node="hosted") as b:
            b.api("PUT", "/v1/kv/j", "1")
            j = b.api("GET", "/v1/agent/metrics")
            prom = b.http("GET", "/v1/agent/metrics?format=prometheus").body.decode()
        self.assertEqual(sorted(j), ["Counters", "Gauges", "Points", "Samples", "Timestamp"])
        self.assertRegex(j["Timestamp"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 \+0000 UTC$")
        gauges = {g["Name"]: g for g in j["Gauges"]}
        self.assertEqual(gauges["consul.%s.state.nodes" % host]["Value"], 1)
        self.assertNotIn("consul.state.nodes", gauges)
        self.assertIn("process_resident_memory_bytes", gauges)
        sample = [x for x in j["Samples"] if x["Name"] == "beacon.kv.commit_duration_seconds"][0]
        self.assertEqual(sorted(sample), ["Count", "Labels", "Max", "Mean", "Min", "Name", "Rate",
                                          "Stddev", "Sum"])
        self.assertGreaterEqual(sample["Count"], 1)
        counter = [x for x in j["Counters"] if x["Name"] == "beacon.kv.ops"][0]
        self.assertEqual(counter["Labels"], {"verb": "set"})
        self.assertEqual(counter["Count"], 1)
        name = "consul_%s_state_nodes" % "".join(c if c.isalnum() else "_" for c in host)
        self.assertIn("\n%s 1\n" % name, prom)


if __name__ == "__main__":
    unittest.main(verbosity=2)
