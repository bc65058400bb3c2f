"""KV backends for tests that run once per backend: the embedded store, or a real etcd member
(Debian's etcd-server) on 127.0.0.1 free ports with etcd's default limits."""

import http.client
import os
import shutil
import subprocess
import tempfile

from harness import Agent, _live_processes, free_port, stop_process, wait_for

ETCD = shutil.which("etcd")


class Etcd:
    """One etcd member on 127.0.0.1 free ports (etcd's default limits unless extra_args change
    them; client_url: listen there instead); stop() reaps it."""

    def __init__(self, extra_args=(), client_url=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-etcd-")
        self.client = client_url or "http://127.0.0.1:%d" % free_port()
        peer = "http://127.0.0.1:%d" % free_port()
        self.log = open(os.path.join(self.tmp.name, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "m0", "--data-dir", os.path.join(self.tmp.name, "data"),
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "m0=" + peer, "--logger", "zap", "--log-level", "error",
             *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _live_processes.append(self.proc)

        def healthy():
            try:
                c = http.client.HTTPConnection(self.client[len("http://"):], timeout=1)
                try:
                    c.request("GET", "/health")
                    return b'"true"' in c.getresponse().read()
                finally:
                    c.close()
            except OSError:
                return False
        wait_for(healthy, 20, what="etcd healthy")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        self.tmp.cleanup()


class Backend:
    """The KV backend of the server agents: "embedded" (the data dir) or "etcd" (one member;
    wipe() replaces it with a fresh, empty one)."""

    def __init__(self, name):
        self.name = name
        self.etcd = Etcd() if name == "etcd" else None

    def args(self):
        if self.etcd is None:
            return []
        return ["-kv-backend", "etcd", "-etcd-endpoints", self.etcd.client]

    def server(self, node, **kw):
        extra = kw.pop("extra_args", [])
        return Agent(node=node, data_dir="tmp", extra_args=["-server"] + extra + self.args(),
                     **kw)

    def wipe(self):
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = Etcd()

    def close(self):
        if self.etcd is not None:
            self.etcd.stop()
