#!/usr/bin/env python3
"""Memory cost of idle blocking queries, and how fast one write releases them (stdlib only).

  blocking_rss.py --port P --pid PID [--n 10000] [--path /v1/kv/bench/block]
                  [--release-method PUT] [--release-path /v1/kv/bench/block] [--release-body x]
                  [--park-s 3] [--timeout 60]

1. GET --path once (no index) to learn its current X-Consul-Index I (a 404 carries one too).
2. Read the agent's VmRSS (/proc/PID/status) = rss_before.
3. Open --n keep-alive connections and send `GET <path>?index=I&wait=5m` on each (in batches, so
   the listen backlog never overflows). Every one must be parked: no byte may come back within
   --park-s seconds of the last request being sent.
4. Read VmRSS again: rss_parked; the cost is rss_parked - rss_before, also given per connection.
5. Send --release-method --release-path with --release-body on a separate connection (a write that
   changes what --path returns) and time until every parked query has its complete response
   (status 200 and an X-Consul-Index above I): first, median, p99 and last.
Prints one JSON object (see the keys in main()) and exits 0 when every query parked and was
released, 1 otherwise. Raises its own RLIMIT_NOFILE soft limit to the hard limit; it needs
--n + 16 descriptors.
"""
import argparse
import errno
import http.client
import json
import os
import resource
import select
import socket
import sys
import time

from benchlib import pct


def proc_status(pid, key):
    """The number after "key:" in /proc/PID/status (0 when absent); raises if the process is gone."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_kb(pid):
    return proc_status(pid, "VmRSS")


def threads(pid):
    return proc_status(pid, "Threads")


def request(port, method, path, body=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


class Conn:
    __slots__ = ("sock", "buf", "done_at", "status", "index", "need")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.done_at = None
        self.status = None
        self.index = None
        self.need = None  # total bytes of the response once the headers are in

    def feed(self, data):
        """Adds bytes; True once one whole response (headers + Content-Length body) is in."""
        self.buf += data
        if self.need is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = self.buf[:end].decode("latin-1").split("\r\n")
            try:
                self.status = int(head[0].split()[1])
            except (IndexError, ValueError):
                self.status = -1
            length = 0
            for h in head[1:]:
                k, _, v = h.partition(":")
                k = k.strip().lower()
                if k == "content-length":
                    length = int(v.strip())
                elif k == "x-consul-index":
                    try:
                        self.index = int(v.strip())
                    except ValueError:
                        self.index = None
            self.need = end + 4 + length
        return len(self.buf) >= self.need


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the agent's PID (for VmRSS)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--path", default="/v1/kv/bench/block")
    ap.add_argument("--wait", default="5m")
    ap.add_argument("--release-method", default="PUT")
    ap.add_argument("--release-path", default=None, help="default: --path")
    ap.add_argument("--release-body", default="released")
    ap.add_argument("--park-s", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=60.0, help="limit for connecting and for the release")
    ap.add_argument("--batch", type=int, default=256, help="connections opened at a time")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < a.n + 16:
        sys.exit("blocking_rss.py: RLIMIT_NOFILE hard limit %d is below --n %d + 16" % (hard, a.n))
    if soft < a.n + 16:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    out = {"n": a.n, "path": a.path, "park_s": a.park_s, "ok": False}
    status, hdrs, _ = request(a.port, "GET", a.path)
    if "x-consul-index" not in hdrs:
        out["error"] = "GET %s gave %d without X-Consul-Index" % (a.path, status)
        print(json.dumps(out))
        return 1
    index = int(hdrs["x-consul-index"])
    out["index"] = index
    out["threads_before"] = threads(a.pid)
    time.sleep(0.5)
    out["rss_before_kb"] = rss_kb(a.pid)

    sep = "&" if "?" in a.path else "?"
    req = ("GET %s%sindex=%d&wait=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: blocking_rss\r\n\r\n" % (
        a.path, sep, index, a.wait, a.port)).encode()
    ep = select.epoll()
    conns = {}
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    pending = a.n
    while pending > 0:
        batch = []
        for _ in range(min(a.batch, pending)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", a.port))
            if err not in (0, errno.EINPROGRESS):
                out["error"] = "connect: %s after %d connections" % (os.strerror(err), len(conns))
                print(json.dumps(out))
                return 1
            batch.append(s)
        pending -= len(batch)
        # Wait until each is connected, then send its request.
        wep = select.epoll()
        waiting = {}
        for s in batch:
            wep.register(s.fileno(), select.EPOLLOUT)
            waiting[s.fileno()] = s
        while waiting:
            if time.monotonic() > deadline:
                out["error"] = "timed out connecting (%d connected)" % len(conns)
                print(json.dumps(out))
                return 1
            for fd, ev in wep.poll(1.0):
                s = waiting.pop(fd)
                wep.unregister(fd)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    out["error"] = "connect: %s after %d connections" % (os.strerror(err), len(conns))
                    print(json.dumps(out))
                    return 1
                s.sendall(req)  # small; the fresh socket buffer always takes it
                conns[fd] = Conn(s)
                ep.register(fd, select.EPOLLIN)
        wep.close()
    t_sent = time.monotonic()
    out["connect_send_s"] = round(t_sent - t0, 3)

    # Parked means silent: watch for any byte for park_s seconds.
    answered_early = set()
    while time.monotonic() < t_sent + a.park_s:
        for fd, ev in ep.poll(0.2):
            answered_early.add(fd)
            ep.unregister(fd)
    out["answered_early"] = len(answered_early)
    early_status = {}
    for fd in answered_early:
        c = conns[fd]
        try:
            c.feed(c.sock.recv(65536))
        except OSError:
            pass
        early_status[str(c.status)] = early_status.get(str(c.status), 0) + 1
    if early_status:
        out["early_status"] = early_status
    out["parked"] = a.n - len(answered_early)
    out["threads_parked"] = threads(a.pid)
    out["rss_parked_kb"] = rss_kb(a.pid)
    delta = out["rss_parked_kb"] - out["rss_before_kb"]
    out["rss_delta_mb"] = round(delta / 1024.0, 1)
    out["bytes_per_query"] = int(delta * 1024 / max(1, a.n))

    # Release: one write, then every parked query must complete.
    t_rel = time.monotonic()
    rstatus, _, rbody = request(a.port, a.release_method, a.release_path or a.path,
                                body=a.release_body.encode())
    t_ack = time.monotonic()
    out["release_status"] = rstatus
    out["release_body"] = rbody[:64].decode("utf-8", "replace")
    out["release_ack_ms"] = round((t_ack - t_rel) * 1000, 2)
    left = out["parked"]
    deadline = t_rel + a.timeout
    while left > 0 and time.monotonic() < deadline:
        for fd, ev in ep.poll(0.5):
            c = conns[fd]
            try:
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                c.done_at = c.done_at or -1.0  # closed without a whole response
                ep.unregister(fd)
                left -= 1
                continue
            if c.feed(data):
                c.done_at = time.monotonic()
                ep.unregister(fd)
                left -= 1
    times = sorted((c.done_at - t_rel) * 1000 for fd, c in conns.items()
                   if fd not in answered_early and c.done_at and c.done_at > 0)
    bad_status = sum(1 for fd, c in conns.items() if fd not in answered_early and c.done_at and c.done_at > 0
                     and c.status != 200)
    stale_index = sum(1 for fd, c in conns.items() if fd not in answered_early and c.done_at and c.done_at > 0
                      and c.status == 200 and (c.index is None or c.index <= index))
    out["released"] = len(times)
    out["closed_without_response"] = sum(1 for c in conns.values() if c.done_at == -1.0)
    out["not_released"] = left
    out["bad_status"] = bad_status
    out["stale_index"] = stale_index
    out["release_first_ms"] = round(times[0], 1) if times else None
    out["release_p50_ms"] = round(pct(times, 50), 1) if times else None
    out["release_p99_ms"] = round(pct(times, 99), 1) if times else None
    out["release_all_ms"] = round(times[-1], 1) if times else None
    out["rss_after_kb"] = rss_kb(a.pid)
    for c in conns.values():
        c.sock.close()
    ep.close()
    out["ok"] = (out["parked"] == a.n and out["released"] == a.n and bad_status == 0 and stale_index == 0
                 and 200 <= rstatus < 300)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
