"""`beacon version`, `beacon validate` and agent start-up errors, as an operator sees them."""

import json
import os
import subprocess
import tempfile
import unittest

BEACON = os.environ.get("BEACON", "/work/main/build/beacon")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, timeout=20):
    return subprocess.run([BEACON, *args], capture_output=True, text=True, timeout=timeout)


class TestCli(unittest.TestCase):
    def test_version(self):
        r = run("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^Beacon v\d+\.\d+\.\d+")

    def test_unknown_command_is_an_error_with_usage(self):
        r = run("frobnicate")
        self.assertEqual(r.returncode, 1)
        self.assertIn('Unknown command: "frobnicate"', r.stderr)
        self.assertIn("agent", r.stderr)

    def test_validate_accepts_the_shipped_samples(self):
        r = run("validate", os.path.join(ROOT, "conf"), os.path.join(ROOT, "conf", "services"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Configuration is valid!", r.stdout)

    def test_validate_names_file_line_and_key(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.json")
            with open(path, "w") as f:
                f.write('{\n  "service": {\n    "name": "web",\n    "port": "eighty"\n  }\n}\n')
            r = run("validate", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("bad.json", r.stderr)
            self.assertIn(":4", r.stderr)          # the line of the bad value
            self.assertIn("port", r.stderr)        # the key
            self.assertIn("Config validation failed", r.stderr)

    def test_validate_without_arguments(self):
        r = run("validate")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Must specify", r.stderr)

    def test_agent_refuses_unknown_flag(self):
        r = run("agent", "-dev", "-no-such-flag")
        self.assertEqual(r.returncode, 1)
        self.assertIn("-no-such-flag", r.stderr)

    def test_agent_refuses_bad_config_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.json"), "w") as f:
                json.dump({"dns_config": {"udp_answer_limit": "many"}}, f)
            r = run("agent", "-dev", "-config-dir", d, "-dns-port", "0", "-http-port", "0")
            self.assertEqual(r.returncode, 1)
            self.assertIn("x.json", r.stderr)
            self.assertIn("udp_answer_limit", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
