#!/usr/bin/env python3
"""Consul service discovery as Prometheus does it, with a real scraper: Debian's victoria-metrics
(its promscrape implements Prometheus' consul_sd_configs and __meta_consul_* labels; Debian's
prometheus 2.42 is built without Consul SD).

The scraper talks to Beacon through a counting TCP proxy, so the test can show that it blocks
(long-polls with ?index=&wait=) rather than polls. Services come from the config dir, the agent
API and the catalog API; their ports point at tiny /metrics servers so scrapes succeed.

Skipped (exit 77) when victoria-metrics is not installed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Agent, CountingProxy, MetricsServer, free_port, skip, stop_process,  # noqa: E402
                     wait_for, watchdog)

VM = shutil.which("victoria-metrics")
if VM is None:
    skip("victoria-metrics is not installed (apt-get install victoria-metrics)")

watchdog(150)

QUIET_SECONDS = 10
# With blocking queries the scraper's watches stay parked (VM sends wait=525s); a poller would
# make about one request per second per watched service (5 here -> ~50 in 10 s).
MAX_QUIET_REQUESTS = 5


class VictoriaMetrics:
    def __init__(self, consul_addr):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-vm-")
        self.port = free_port()
        self.config = os.path.join(self.tmp.name, "prom.yml")
        with open(self.config, "w") as f:
            f.write("scrape_configs:\n"
                    "- job_name: beacon\n"
                    "  scrape_interval: 1s\n"
                    "  consul_sd_configs:\n"
                    "  - server: %s\n"
                    # victoria-metrics keys a target by its final labels only: a change of a
                    # __meta_* label alone does not replace the target, so /api/v1/targets would
                    # keep the old discoveredLabels. Copying the health into a target label
                    # makes a health change visible there (test_5).
                    "  relabel_configs:\n"
                    "  - source_labels: [__meta_consul_health]\n"
                    "    target_label: consul_health\n" % consul_addr)
        self.log_path = os.path.join(self.tmp.name, "vm.log")
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [VM, "-storageDataPath=" + os.path.join(self.tmp.name, "data"),
             "-httpListenAddr=127.0.0.1:%d" % self.port, "-promscrape.config=" + self.config,
             "-promscrape.consulSDCheckInterval=1s", "-retentionPeriod=1d",
             "-memory.allowedPercent=10", "-search.disableCache"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or self._health(), 20,
                 what="victoria-metrics to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("victoria-metrics exited:\n" + self.log_text()[-3000:])
        return self

    def _health(self):
        try:
            return urllib.request.urlopen("http://127.0.0.1:%d/health" % self.port,
                                          timeout=1).status == 200
        except OSError:
            return False

    def targets(self):
        """{service_id: target dict} for active targets discovered through Consul SD."""
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % self.port,
                                    timeout=5) as r:
            data = json.load(r)
        out = {}
        for t in data["data"]["activeTargets"]:
            sid = t["discoveredLabels"].get("__meta_consul_service_id")
            if sid is not None:
                out[sid] = t
        return out

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


class TestConsulSd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics = {n: MetricsServer(n).start() for n in ("cfg", "api1", "api2", "ext")}
        cls.agent = Agent(node="sdnode", extra_config_files={
            "10-cfgsvc.json": {"service": {"name": "cfgsvc", "id": "cfgsvc-1", "tags": ["a", "b"],
                                           "port": cls.metrics["cfg"].port,
                                           "meta": {"team": "core", "dash-key": "v"}}},
        }, config={"node_meta": {"rack": "r7"}})
        cls.agent.start()
        cls.setup_errors = []
        for sid, m in (("apisvc-1", "api1"), ("apisvc-2", "api2")):
            r = cls.agent.http("PUT", "/v1/agent/service/register", {
                "Name": "apisvc", "ID": sid, "Tags": ["api", sid], "Port": cls.metrics[m].port,
                "Meta": {"version": "2"},
                "Check": {"CheckID": sid + "-ttl", "TTL": "120s", "Status": "passing"}})
            if r.status != 200:
                cls.setup_errors.append("agent/service/register %s -> %r" % (sid, r))
        r = cls.agent.http("PUT", "/v1/catalog/register", {
            "Node": "ext-node", "Address": "127.0.0.1", "NodeMeta": {"zone": "z9"},
            "Service": {"Service": "extsvc", "ID": "extsvc-1", "Port": cls.metrics["ext"].port,
                        "Tags": [], "Meta": {"owner": "ops"}},
            "Check": {"CheckID": "extsvc-ok", "Name": "ext", "Status": "warning",
                      "ServiceID": "extsvc-1"}})
        if r.status != 200:
            cls.setup_errors.append("catalog/register -> %r" % r)
        cls.proxy = CountingProxy(cls.agent.http_port).start()
        cls.vm = VictoriaMetrics("127.0.0.1:%d" % cls.proxy.port).start()
        cls.expected = {"cfgsvc-1"}
        if not cls.setup_errors:
            cls.expected |= {"apisvc-1", "apisvc-2", "extsvc-1"}
        try:
            wait_for(lambda: cls.expected <= set(cls.vm.targets()), 30,
                     what="victoria-metrics to discover %s" % sorted(cls.expected))
            cls.discovery_error = None
        except TimeoutError as e:
            cls.discovery_error = str(e)
            sys.stderr.write("discovery failed: %s\nfirst requests the scraper made: %s\n"
                             "victoria-metrics log tail:\n%s\n" % (
                                 e, cls.proxy.paths_since(0)[:10], cls.vm.log_text()[-1500:]))

    @classmethod
    def tearDownClass(cls):
        cls.vm.stop()
        cls.proxy.stop()
        cls.agent.close()
        for m in cls.metrics.values():
            m.stop()

    def setUp(self):
        if self.discovery_error:
            self.fail(self.discovery_error)

    def labels(self, sid):
        return self.vm.targets()[sid]["discoveredLabels"]

    def test_1_labels_of_a_config_dir_service(self):
        lb = self.labels("cfgsvc-1")
        self.assertEqual(lb["__meta_consul_service"], "cfgsvc")
        self.assertEqual(lb["__meta_consul_tags"], ",a,b,")
        self.assertEqual(lb["__meta_consul_service_port"], str(self.metrics["cfg"].port))
        self.assertEqual(lb["__address__"], "127.0.0.1:%d" % self.metrics["cfg"].port)
        self.assertEqual(lb["__meta_consul_node"], "sdnode")
        self.assertEqual(lb["__meta_consul_address"], "127.0.0.1")
        self.assertEqual(lb["__meta_consul_service_address"], "")
        self.assertEqual(lb["__meta_consul_dc"], "dc1")
        self.assertEqual(lb["__meta_consul_health"], "passing")
        self.assertEqual(lb["__meta_consul_service_metadata_team"], "core")
        self.assertEqual(lb["__meta_consul_service_metadata_dash_key"], "v")
        self.assertEqual(lb["__meta_consul_metadata_rack"], "r7")
        self.assertEqual(lb["__meta_consul_tagged_address_lan"], "127.0.0.1")

    def test_2_labels_of_api_registered_services(self):
        self.assertEqual(self.setup_errors, [])
        targets = self.vm.targets()
        for sid, m in (("apisvc-1", "api1"), ("apisvc-2", "api2")):
            lb = targets[sid]["discoveredLabels"]
            self.assertEqual(lb["__meta_consul_service"], "apisvc")
            self.assertEqual(lb["__meta_consul_tags"], ",api,%s," % sid)
            self.assertEqual(lb["__meta_consul_service_port"], str(self.metrics[m].port))
            self.assertEqual(lb["__meta_consul_service_metadata_version"], "2")
            self.assertEqual(lb["__meta_consul_health"], "passing")
        lb = targets["extsvc-1"]["discoveredLabels"]
        self.assertEqual(lb["__meta_consul_service"], "extsvc")
        self.assertEqual(lb["__meta_consul_tags"], ",,")
        self.assertEqual(lb["__meta_consul_node"], "ext-node")
        self.assertEqual(lb["__meta_consul_metadata_zone"], "z9")
        self.assertEqual(lb["__meta_consul_service_metadata_owner"], "ops")
        self.assertEqual(lb["__meta_consul_health"], "warning")

    def test_3_scrapes_succeed(self):
        def all_up():
            t = self.vm.targets()
            return all(t[s]["health"] == "up" for s in self.expected if s in t)
        wait_for(all_up, 15, what="every discovered target to be scraped successfully")
        self.assertGreater(self.metrics["cfg"].scrapes, 0)

    def test_4_scraper_blocks_instead_of_polling(self):
        time.sleep(2)  # let the initial discovery settle
        t0 = time.monotonic()
        time.sleep(QUIET_SECONDS)
        n = self.proxy.count_since(t0)
        self.assertLessEqual(
            n, MAX_QUIET_REQUESTS,
            "the scraper made %d requests in %d s with no changes (polling, not blocking): %s"
            % (n, QUIET_SECONDS, self.proxy.paths_since(t0)[:12]))
        # and it did use blocking queries
        paths = [p for _m, p in self.proxy.paths_since(0)]
        self.assertTrue(any("index=" in p and "index=0" not in p for p in paths), paths[:10])

    def test_5_health_change_and_deregistration_propagate_within_seconds(self):
        self.assertEqual(self.setup_errors, [])
        t0 = time.monotonic()
        r = self.agent.http("PUT", "/v1/agent/check/fail/apisvc-1-ttl?note=down")
        self.assertEqual(r.status, 200, r)
        try:
            wait_for(lambda: self.labels("apisvc-1")["__meta_consul_health"] == "critical", 8,
                     what="__meta_consul_health=critical for apisvc-1")
        except TimeoutError:
            h = self.agent.http("GET", "/v1/health/service/apisvc")
            sys.stderr.write("scraper requests since the change: %s\n"
                             "Beacon's view (index %s): %s\n" % (
                                 self.proxy.paths_since(t0), h.header("x-consul-index"),
                                 [(k["CheckID"], k["Status"], k["ModifyIndex"])
                                  for e in h.json() for k in e["Checks"]]))
            raise
        r = self.agent.http("PUT", "/v1/agent/service/deregister/apisvc-2")
        self.assertEqual(r.status, 200, r)
        t1 = time.monotonic()
        wait_for(lambda: "apisvc-2" not in self.vm.targets(), 8,
                 what="apisvc-2 to disappear from the scraper's targets")
        gone_after = time.monotonic() - t1
        self.assertIn("apisvc-1", self.vm.targets())
        r = self.agent.http("PUT", "/v1/catalog/deregister", {"Node": "ext-node"})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: "extsvc-1" not in self.vm.targets(), 8,
                 what="extsvc-1 to disappear after its node was deregistered")
        self.assertIn("cfgsvc-1", self.vm.targets())
        # three changes: each wakes the affected watches once; nothing like a poll storm
        n = self.proxy.count_since(t0)
        self.assertLessEqual(n, 30, self.proxy.paths_since(t0))
        print("deregistered target gone after %.1f s; %d scraper requests for 3 changes"
              % (gone_after, n), flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
