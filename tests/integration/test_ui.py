#!/usr/bin/env python3
"""The web UI over the real binary: on with -dev, off without it; -ui, ui_config { enabled }
(JSON and YAML) and the older `ui` key; what /ui/ serves (index.html for deep links, assets with
their Content-Type, ETag and 304, 404 for missing assets); every script module and stylesheet the
page loads is served. Python 3 stdlib only.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, watchdog  # noqa: E402


class UiServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="uiserve").start()  # -dev: the UI is on

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def get(self, path, headers=None):
        return self.agent.http("GET", path, headers=headers)

    def test_root_redirects_to_ui(self):
        for path in ("/", "/ui"):
            r = self.get(path)
            self.assertEqual(r.status, 301, path)
            self.assertEqual(r.header("Location"), "/ui/")

    def test_head_answers_like_get_without_a_body(self):
        import http.client
        get = self.get("/ui/")
        for path, status in (("/ui/", 200), ("/ui/services/web", 200), ("/", 301), ("/ui", 301)):
            c = http.client.HTTPConnection(self.agent.http_addr, timeout=10)
            try:
                c.request("HEAD", path)
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (status, b""), path)
                if status == 200:
                    self.assertEqual(r.getheader("Content-Length"), str(len(get.body)), path)
                    self.assertEqual(r.getheader("ETag"), get.header("ETag"), path)
                else:
                    self.assertEqual(r.getheader("Location"), "/ui/", path)
                # The connection stays usable: no stray body bytes precede the next answer.
                c.request("GET", "/v1/status/leader")
                self.assertEqual(c.getresponse().status, 200, path)
            finally:
                c.close()

    def test_index_and_deep_links(self):
        r = self.get("/ui/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertIn(b"<title>Beacon</title>", r.body)
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertIn("script-src 'self'", r.header("Content-Security-Policy"))
        for deep in ("/ui/services/web", "/ui/kv/a/b/", "/ui/index.html"):
            d = self.get(deep)
            self.assertEqual((d.status, d.body), (200, r.body), deep)
            self.assertEqual(d.header("ETag"), r.header("ETag"))

    def test_every_referenced_asset_is_served_with_its_type(self):
        """index.html's links and scripts, and every module they import, resolve to assets."""
        types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml"}
        index = self.get("/ui/").body.decode()
        todo = re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', index)
        self.assertIn("/ui/assets/js/main.js", todo)
        self.assertIn("/ui/assets/app.css", todo)
        seen = set()
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.header("Content-Type"), types[os.path.splitext(path)[1]], path)
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            if path.endswith(".js"):
                base = path.rsplit("/", 1)[0]
                for mod in re.findall(r"from '\./([^']+)'", r.body.decode()):
                    todo.append(base + "/" + mod)
        self.assertGreaterEqual(len([p for p in seen if p.endswith(".js")]), 8)

    def test_etag_and_not_modified(self):
        r = self.get("/ui/assets/app.css")
        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{20}"$')
        again = self.get("/ui/assets/app.css", {"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.header("ETag"), etag)
        self.assertEqual(self.get("/ui/assets/app.css", {"If-None-Match": '"stale"'}).status, 200)
        self.assertNotEqual(self.get("/ui/assets/js/main.js").header("ETag"), etag)

    def test_missing_assets_are_404(self):
        for path in ("/ui/assets/nope.js", "/ui/assets/js/missing.css", "/ui/assets/"):
            r = self.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertIn(b"UI asset not found", r.body)

    def test_api_paths_unchanged(self):
        self.assertEqual(self.get("/v1/status/leader").status, 200)
        for method in ("GET", "PUT", "DELETE"):
            r = self.agent.http(method, "/v1/not/an/endpoint")
            self.assertEqual(r.status, 404, method)
            self.assertIn(b"Invalid URL path", r.body)


def ui_status(agent):
    return agent.http("GET", "/ui/").status, agent.http("GET", "/").status


class UiSwitchTest(unittest.TestCase):
    def run_agent(self, **kw):
        a = Agent(**kw).start()
        self.addCleanup(a.close)
        return ui_status(a)

    def test_off_without_dev(self):
        self.assertEqual(self.run_agent(data_dir="tmp"), (404, 404))

    def test_ui_flag_turns_it_on(self):
        self.assertEqual(self.run_agent(data_dir="tmp", extra_args=["-ui"]), (200, 301))

    def test_ui_config_enabled_false_turns_dev_off(self):
        self.assertEqual(self.run_agent(config={"ui_config": {"enabled": False}}), (404, 404))

    def test_ui_config_yaml_and_old_key(self):
        self.assertEqual(self.run_agent(
            data_dir="tmp", extra_config_files={"ui.yaml": "ui_config:\n  enabled: true\n"}),
            (200, 301))
        self.assertEqual(self.run_agent(data_dir="tmp", config={"ui": True}), (200, 301))


if __name__ == "__main__":
    watchdog(120)
    unittest.main()
