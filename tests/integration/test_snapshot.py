#!/usr/bin/env python3
"""Snapshots end to end: `beacon snapshot save|inspect|restore` and GET/PUT /v1/snapshot, on
both KV backends: the embedded store, and etcd (a real etcd-server member on loopback with its
default limits, --max-txn-ops 128; skipped when etcd is not installed). Every test below runs
once per backend.

- save while a writer PUTs keys one after another: the snapshot holds a prefix of the writer's
  keys (every key up to some index, nothing after), verified by reading the file format here;
- wipe (a new agent on a new data dir) and restore: exactly the snapshot's keys, values, flags,
  indexes, sessions and locks come back;
- restore into a store that moved on: no index goes below what clients saw before, and a
  blocking query on a key wakes;
- restore again while another client (on etcd: through another server agent) writes: readers
  see the old key set or the snapshot's, never a mix; a blocking query wakes; afterwards the
  state is exactly the snapshot plus writes acknowledged after the restore, above its index;
- inspect prints Consul's layout with the right counts; corrupt files are refused (400, CLI
  exit 1) and change nothing; curl GET/PUT; a client agent forwards /v1/snapshot to its server;
- prepared queries ride along: save, delete/change/add queries, restore -> GET /v1/query is
  exactly the saved set, DNS answers the restored query, a blocking GET /v1/query wakes, new
  indexes go on above, inspect counts PreparedQuery records, and a restart keeps the set.
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, wait_for, watchdog  # noqa: E402
from kv_backends import ETCD, Backend  # noqa: E402

CURL = shutil.which("curl")


def cli(*args, timeout=60):
    p = subprocess.run([BEACON] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def parse_snapshot(data):
    """The documented format (include/beacon/kv/snapshot.h), read independently of the C++."""
    assert data[:8] == b"BCNSNAP\n", data[:8]
    assert hashlib.sha256(data[:-32]).digest() == data[-32:], "digest"
    version, _, index, term, created, _ = struct.unpack_from("<IIQQQQ", data, 8)
    assert version == 1
    off, body_end = 48, len(data) - 32
    out = {"index": index, "term": term, "created": created, "kv": {}, "sessions": [],
           "types": {}}
    ended = False
    while off < body_end:
        rtype, length = struct.unpack_from("<BI", data, off)
        payload = data[off + 5: off + 5 + length]
        off += 5 + length
        out["types"][rtype] = out["types"].get(rtype, 0) + 1
        if rtype == 0:
            ended = True
        elif rtype == 1:
            create, modify, lock, flags, klen = struct.unpack_from("<QQQQI", payload, 0)
            key = payload[36:36 + klen].decode()
            (slen,) = struct.unpack_from("<I", payload, 36 + klen)
            session = payload[40 + klen: 40 + klen + slen].decode()
            out["kv"][key] = {"create": create, "modify": modify, "lock": lock, "flags": flags,
                              "session": session, "value": payload[40 + klen + slen:]}
        elif rtype == 3:
            out["sessions"].append(payload)
    assert ended and off == body_end
    return out


class Writer(threading.Thread):
    """PUTs w/k000000, w/k000001, ... one after another until stopped; acked counts answers."""

    def __init__(self, port, prefix="w/", host="127.0.0.1"):
        super().__init__(daemon=True)
        self.host = host
        self.port = port
        self.prefix = prefix
        self.acked = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            while not self.stop.is_set():
                conn.request("PUT", "/v1/kv/%sk%06d" % (self.prefix, self.acked),
                             body=b"v%d" % self.acked)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or body.strip() != b"true":
                    self.error = "PUT -> %d %r" % (r.status, body)
                    return
                self.acked += 1
        except (OSError, http.client.HTTPException) as e:
            self.error = e


def kv_all(agent):
    r = agent.http("GET", "/v1/kv/?recurse")
    assert r.status == 200, r.status
    return {e["Key"]: e for e in json.loads(r.body)}, int(r.header("X-Consul-Index"))


def setup_data(agent):
    node = agent.node
    sid = agent.api("PUT", "/v1/session/create", {"Name": "snap-lock", "Node": node,
                                                  "Checks": [], "TTL": "60s"})["ID"]
    assert agent.http("PUT", "/v1/kv/app/a?flags=42", b"alpha").body.strip() == b"true"
    assert agent.http("PUT", "/v1/kv/app/lock?acquire=" + sid, b"held").body.strip() == b"true"
    assert agent.http("PUT", "/v1/kv/app/gone", b"x").body.strip() == b"true"
    assert agent.http("DELETE", "/v1/kv/app/gone").status == 200
    return sid


def test_save_under_writes_inspect_wipe_restore(tmp, backend):
    src = backend.server("snap1").start()
    try:
        sid = setup_data(src)
        writer = Writer(src.http_port)
        writer.start()
        wait_for(lambda: writer.acked > 200 or writer.error, 20, what="writes before the save")
        path = os.path.join(tmp, "backup.snap")
        acked_before_save = writer.acked
        rc, out, err = cli("snapshot", "save", "-http-addr", src.http_addr, path)
        at_save = writer.acked
        wait_for(lambda: writer.acked > at_save + 50 or writer.error, 20,
                 what="writes after the save")
        writer.stop.set()
        writer.join(10)
        assert writer.error is None, writer.error
        assert rc == 0, err
        with open(path, "rb") as f:
            data = f.read()
        snap = parse_snapshot(data)
        assert out == "Saved and verified snapshot to index %d\n" % snap["index"], out
        assert not os.path.exists(path + ".unverified")

        # Prefix-consistent: the writer's keys in the file are exactly k0..k(n-1), all at or
        # below the snapshot's index, and the writer went on past them.
        wkeys = sorted(k for k in snap["kv"] if k.startswith("w/"))
        n = len(wkeys)
        assert wkeys == ["w/k%06d" % i for i in range(n)], wkeys[:5]
        assert acked_before_save <= n < writer.acked, (acked_before_save, n, writer.acked)
        assert all(e["modify"] <= snap["index"] for e in snap["kv"].values())
        assert snap["kv"]["w/k%06d" % (n - 1)]["modify"] == snap["index"]  # the last write
        assert snap["kv"]["app/lock"]["session"] == sid
        assert snap["kv"]["app/a"]["flags"] == 42
        assert "app/gone" not in snap["kv"]

        # inspect: Consul's layout and the file's counts.
        rc, out, err = cli("snapshot", "inspect", path)
        assert rc == 0, err
        lines = out.split("\n")
        assert lines[0].split() == ["ID", "%d-%d-%d" % (snap["term"], snap["index"],
                                                         snap["created"])], out
        assert lines[1].split() == ["Size", str(len(data))], out
        assert lines[2].split() == ["Index", str(snap["index"])], out
        # Term: 1 on the embedded store, etcd's raft term on etcd.
        assert lines[3].split() == ["Term", str(snap["term"])], out
        assert lines[4].split() == ["Version", "1"], out
        assert snap["term"] >= 1 and (backend.name == "etcd" or snap["term"] == 1), out
        assert lines[0].startswith(" ID" + " " * 11 + "%d-" % snap["term"]), repr(lines[0])
        assert lines[6].split() == ["Type", "Count", "Size"], out
        rows = {l.split()[0]: l.split()[1:] for l in lines[8:] if l.strip() and "----" not in l}
        assert rows["KVS"][0] == str(len(snap["kv"])), out
        assert rows["Session"][0] == "1" and rows["Tombstone"][0] == "1", out
        assert "Total" in rows, out
        rc, out, err = cli("snapshot", "inspect", "-format", "json", path)
        assert rc == 0, err
        j = json.loads(out)
        assert j["Meta"]["Index"] == snap["index"]
        assert {s["Name"]: s["Count"] for s in j["Stats"]}["KVS"] == len(snap["kv"])
        before, _ = kv_all(src)
    finally:
        src.close()

    # Wipe: a new agent on a new, empty data dir (and a new, empty etcd); restore; exactly the
    # snapshot's state.
    backend.wipe()
    dst = backend.server("snap1").start()
    try:
        rc, out, err = cli("snapshot", "restore", "-http-addr", dst.http_addr, path)
        assert rc == 0, err
        assert out == "Restored snapshot\n", out
        now, index = kv_all(dst)
        assert index > snap["index"], (index, snap["index"])
        assert set(now) == set(snap["kv"]), set(now) ^ set(snap["kv"])
        for key, e in snap["kv"].items():
            got = now[key]
            value = base64.b64decode(got["Value"]) if got["Value"] else b""
            assert value == e["value"], key
            assert (got["Flags"], got["CreateIndex"], got["ModifyIndex"], got["LockIndex"]) == \
                (e["flags"], e["create"], e["modify"], e["lock"]), key
            assert got.get("Session", "") == e["session"], key
        assert len(before) > len(now)  # the writer's later keys are not there
        for i in range(acked_before_save):  # every write acknowledged before the save
            got = now["w/k%06d" % i]
            assert base64.b64decode(got["Value"]) == b"v%d" % i, got
        sessions = dst.api("GET", "/v1/session/list")
        assert [s["ID"] for s in sessions] == [sid], sessions
        # The lock is live: destroying the restored session releases it.
        assert dst.api("PUT", "/v1/session/destroy/" + sid) is True
        lock = dst.api("GET", "/v1/kv/app/lock")[0]
        assert "Session" not in lock, lock
        # Corrupt files are refused and change nothing.
        bad = bytearray(data)
        bad[len(bad) // 2] ^= 0x55
        bad_path = os.path.join(tmp, "bad.snap")
        with open(bad_path, "wb") as f:
            f.write(bad)
        _, index_before = kv_all(dst)
        rc, out, err = cli("snapshot", "restore", "-http-addr", dst.http_addr, bad_path)
        assert rc == 1 and "Error restoring snapshot: Unexpected response code: 400" in err, err
        assert "checksum mismatch" in err, err
        r = dst.http("PUT", "/v1/snapshot", bytes(data[: len(data) // 3]))
        assert r.status == 400 and b"invalid snapshot" in r.body, (r.status, r.body)
        assert kv_all(dst)[1] == index_before
        rc, out, err = cli("snapshot", "inspect", bad_path)
        assert rc == 1 and err.startswith("Error reading snapshot: invalid snapshot"), err
        rc, out, err = cli("snapshot", "save")
        assert rc == 1 and err == "Missing FILE argument\n", err
    finally:
        dst.close()


def test_restore_under_concurrent_writes(tmp, backend):
    with open(os.path.join(tmp, "backup.snap"), "rb") as f:  # test 1's snapshot
        data = f.read()
    snap = parse_snapshot(data)
    wkeys = sorted(k for k in snap["kv"] if k.startswith("w/"))
    port = free_port("127.0.0.73")
    # The snapshot's session belongs to node snap1: the restoring agent is snap1.
    a = backend.server("snap1", host="127.0.0.73", serf_port=port).start()
    b = a
    try:
        if backend.etcd is not None:
            # The other client talks to another server agent sharing the etcd store; it gossips
            # with snap1, so it too knows the restored session's node.
            b = backend.server("snap-rb", host="127.0.0.74", serf_port=port,
                               extra_args=["-join", "127.0.0.73:%d" % port]).start()
            wait_for(lambda: "snap1" in [n["Node"] for n in b.api("GET", "/v1/catalog/nodes")],
                     20, what="snap1 in the other server's catalog")
        assert a.http("PUT", "/v1/kv/app/a", b"other").status == 200
        wait_for(lambda: b.http("GET", "/v1/kv/app/a").status == 200, 10, what="app/a on b")
        key_index = int(b.http("GET", "/v1/kv/app/a").header("X-Consul-Index"))
        writer = Writer(b.http_port, prefix="during/", host=b.host)
        writer.start()
        stop = threading.Event()
        seen = {"polls": 0, "mixed": []}

        def reader():  # the w/ keys: none before the restore, all of them after
            conn = http.client.HTTPConnection(b.host, b.http_port, timeout=30)
            while not stop.is_set():
                conn.request("GET", "/v1/kv/w/?keys")
                r = conn.getresponse()
                body = r.read()
                keys = json.loads(body) if r.status == 200 else []
                if keys and keys != wkeys:
                    seen["mixed"].append(len(keys))
                seen["polls"] += 1

        blocked = {}

        def block():
            r = b.http("GET", "/v1/kv/app/a?index=%d&wait=60s" % key_index, timeout=90)
            blocked["index"] = int(r.header("X-Consul-Index"))
            blocked["value"] = base64.b64decode(json.loads(r.body)[0]["Value"])

        threads = [threading.Thread(target=reader, daemon=True),
                   threading.Thread(target=block, daemon=True)]
        for t in threads:
            t.start()
        wait_for(lambda: writer.acked > 20 or writer.error, 20, what="writes before the restore")
        acked_at_start = writer.acked
        r = a.http("PUT", "/v1/snapshot", data, timeout=60)
        acked_at_end = writer.acked
        assert r.status == 200, (r.status, r.body)
        restore_index = int(r.header("X-Consul-Index"))
        assert restore_index > snap["index"]
        wait_for(lambda: writer.acked > acked_at_end + 20 or writer.error, 20,
                 what="writes after the restore")
        threads[1].join(30)
        assert not threads[1].is_alive(), "the blocking query did not wake on restore"
        stop.set()
        writer.stop.set()
        writer.join(10)
        threads[0].join(30)
        assert writer.error is None, writer.error
        assert seen["polls"] > 0 and not seen["mixed"], seen
        assert blocked["value"] == b"alpha" and blocked["index"] > key_index, blocked

        now, _ = kv_all(b)
        for key, e in snap["kv"].items():  # exactly the snapshot...
            got = now[key]
            value = base64.b64decode(got["Value"]) if got["Value"] else b""
            assert value == e["value"], key
            assert (got["Flags"], got["LockIndex"], got.get("Session", "")) == \
                (e["flags"], e["lock"], e["session"]), key
            # indexes kept when above the store's index at the restore, else the restore's
            assert got["ModifyIndex"] in (e["modify"], restore_index), (key, got, e)
            assert got["CreateIndex"] <= got["ModifyIndex"], (key, got)
        # ... plus the other client's writes acknowledged after the restore, above its index;
        # the ones acknowledged before it began are gone with the state they were written to.
        extra = {k: v for k, v in now.items() if k not in snap["kv"]}
        assert all(k.startswith("during/") for k in extra), sorted(extra)[:5]
        assert all(v["ModifyIndex"] > restore_index for v in extra.values())
        for i in range(writer.acked):
            if i < acked_at_start:
                assert "during/k%06d" % i not in now, i
            elif i >= acked_at_end:
                assert "during/k%06d" % i in now, i
    finally:
        if b is not a:
            b.close()
        a.close()


def test_restore_moves_on_and_wakes_blocking_queries(tmp, backend):
    agent = backend.server("snap2").start()
    try:
        setup_data(agent)
        path = os.path.join(tmp, "b.snap")
        if CURL:  # curl-style GET: the file and its index header
            p = subprocess.run([CURL, "-sS", "-D", "-", "-o", path,
                                "http://%s/v1/snapshot" % agent.http_addr],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
            headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
                       for l in p.stdout.splitlines() if ":" in l}
            with open(path, "rb") as f:
                data = f.read()
        else:
            r = agent.http("GET", "/v1/snapshot")
            headers = {"x-consul-index": r.header("X-Consul-Index")}
            data = r.body
            with open(path, "wb") as f:
                f.write(data)
        snap = parse_snapshot(data)
        assert int(headers["x-consul-index"]) == snap["index"]
        # The store moves on: new values, new keys, many more writes.
        for i in range(30):
            assert agent.http("PUT", "/v1/kv/later/%d" % i, b"x").status == 200
        assert agent.http("PUT", "/v1/kv/app/a", b"changed").status == 200
        r = agent.http("GET", "/v1/kv/app/a")
        key_index = int(r.header("X-Consul-Index"))
        _, index_before = kv_all(agent)
        later_index = int(agent.http("GET", "/v1/kv/later/?recurse").header("X-Consul-Index"))

        result = {}

        def block():
            r = agent.http("GET", "/v1/kv/app/a?index=%d&wait=60s" % key_index, timeout=90)
            result["status"] = r.status
            result["index"] = int(r.header("X-Consul-Index"))
            result["value"] = base64.b64decode(json.loads(r.body)[0]["Value"])

        t = threading.Thread(target=block, daemon=True)
        t.start()
        time.sleep(0.5)  # lets it park first (if not, it still must see the restored value)
        if CURL:
            p = subprocess.run([CURL, "-sS", "-f", "-X", "PUT", "--data-binary", "@" + path,
                                "http://%s/v1/snapshot" % agent.http_addr],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
        else:
            assert agent.http("PUT", "/v1/snapshot", data).status == 200
        t.join(30)
        assert not t.is_alive(), "the blocking query did not wake on restore"
        assert result["status"] == 200 and result["value"] == b"alpha", result
        assert result["index"] > key_index, result
        now, index_after = kv_all(agent)
        assert index_after > index_before, (index_after, index_before)
        assert not any(k.startswith("later/") for k in now)
        # The dropped prefix reports an index above what a client saw (tombstones).
        r = agent.http("GET", "/v1/kv/later/?recurse")
        assert r.status == 404 and int(r.header("X-Consul-Index")) > later_index
        # Writes go on above the restore.
        assert agent.http("PUT", "/v1/kv/after", b"1").status == 200
        after_index = agent.api("GET", "/v1/kv/after")[0]["ModifyIndex"]
        assert after_index > index_after
        # The acknowledged restore is durable: kill -9 and restart on the same data dir.
        agent.kill9()
        agent.start(keep_ports=True)
        again, index_again = kv_all(agent)
        assert set(again) == set(now) | {"after"}, set(again) ^ (set(now) | {"after"})
        assert base64.b64decode(again["app/a"]["Value"]) == b"alpha"
        assert index_again >= after_index
    finally:
        agent.close()


def test_client_agent_forwards(tmp, backend):
    port = free_port("127.0.0.71")
    server = backend.server("snap-s", host="127.0.0.71", serf_port=port,
                            extra_args=["-bootstrap-expect", "1"]).start()
    client = None
    try:
        client = Agent(node="snap-c", host="127.0.0.72", serf_port=port, data_dir="tmp",
                       extra_args=["-join", "127.0.0.71:%d" % port]).start()
        assert server.http("PUT", "/v1/kv/fwd", b"1").status == 200
        wait_for(lambda: client.http("GET", "/v1/kv/fwd").status == 200, 20,
                 what="the client forwarding KV")
        qid = client.api("POST", "/v1/query",
                         {"Name": "fwdq", "Service": {"Service": "web"}})["ID"]
        r = client.http("GET", "/v1/snapshot")
        assert r.status == 200, (r.status, r.body[:200])
        snap = parse_snapshot(r.body)
        assert "fwd" in snap["kv"]
        assert snap["types"].get(4) == 1, snap["types"]
        assert server.http("DELETE", "/v1/kv/fwd").status == 200
        assert server.http("DELETE", "/v1/query/" + qid).status == 200
        wait_for(lambda: client.http("GET", "/v1/query/fwdq/execute").status == 404, 20,
                 what="the client's mirror dropping the deleted query")
        path = os.path.join(tmp, "c.snap")
        with open(path, "wb") as f:
            f.write(r.body)
        rc, out, err = cli("snapshot", "restore", "-http-addr", client.http_addr, path)
        assert rc == 0, err
        assert server.api("GET", "/v1/kv/fwd")[0]["Key"] == "fwd"
        assert [q["ID"] for q in server.api("GET", "/v1/query")] == [qid]
        # The client agent's mirror picks the restored set up: execute answers there again.
        wait_for(lambda: client.http("GET", "/v1/query/fwdq/execute").status == 200, 20,
                 what="the client's mirror of the restored query")
    finally:
        if client:
            client.close()
        server.close()


def query_set(agent):
    r = agent.http("GET", "/v1/query")
    assert r.status == 200, (r.status, r.body[:200])
    return sorted(json.loads(r.body), key=lambda q: q["ID"]), int(r.header("X-Consul-Index"))


def test_prepared_queries_round_trip(tmp, backend):
    agent = backend.server("snapq").start()
    try:
        # A local service: the agent keeps it across the restart below.
        agent.api("PUT", "/v1/agent/service/register", {"ID": "web", "Name": "web", "Port": 80})
        wait_for(lambda: agent.http("GET", "/v1/catalog/service/web").json(), 10,
                 what="the web service in the catalog")
        fast = agent.api("POST", "/v1/query", {"Name": "web-fast", "Service": {
            "Service": "web", "OnlyPassing": True}, "DNS": {"TTL": "10s"}})["ID"]
        keep = agent.api("POST", "/v1/query",
                         {"Name": "keep", "Service": {"Service": "web"}})["ID"]
        agent.api("POST", "/v1/query", {"Name": "", "Template": {"Type": "name_prefix_match"},
                                        "Service": {"Service": "${name.full}"}})
        saved, _ = query_set(agent)
        assert len(saved) == 3
        path = os.path.join(tmp, "pq.snap")
        rc, out, err = cli("snapshot", "save", "-http-addr", agent.http_addr, path)
        assert rc == 0, err
        with open(path, "rb") as f:
            snap = parse_snapshot(f.read())
        assert snap["types"].get(4) == 3, snap["types"]  # one PreparedQuery record each
        rc, out, err = cli("snapshot", "inspect", path)
        assert rc == 0, err
        rows = {l.split()[0]: l.split()[1:] for l in out.split("\n")[8:]
                if l.strip() and "----" not in l}
        assert rows["PreparedQuery"][0] == "3", out
        rc, out, err = cli("snapshot", "inspect", "-format", "json", path)
        assert {s["Name"]: s["Count"] for s in json.loads(out)["Stats"]}["PreparedQuery"] == 3

        # The set moves on: one deleted, one changed, one added.
        assert agent.http("DELETE", "/v1/query/" + fast).status == 200
        agent.api("PUT", "/v1/query/" + keep, {"Name": "keep", "Service": {"Service": "db"}})
        agent.api("POST", "/v1/query", {"Name": "extra", "Service": {"Service": "web"}})
        assert agent.dig("web-fast.query.consul", "SRV").status == "NXDOMAIN"
        moved, moved_index = query_set(agent)
        assert moved != saved

        result = {}

        def block():
            r = agent.http("GET", "/v1/query?index=%d&wait=60s" % moved_index, timeout=90)
            result["status"] = r.status
            result["index"] = int(r.header("X-Consul-Index"))
            result["names"] = sorted(q["Name"] for q in json.loads(r.body))

        t = threading.Thread(target=block, daemon=True)
        t.start()
        time.sleep(0.5)  # lets it park first (if not, it still must see the restored set)
        rc, out, err = cli("snapshot", "restore", "-http-addr", agent.http_addr, path)
        assert rc == 0, err
        t.join(30)
        assert not t.is_alive(), "the blocking GET /v1/query did not wake on restore"
        assert result["status"] == 200 and result["index"] > moved_index, result
        assert result["names"] == sorted(q["Name"] for q in saved), result
        # Exactly the saved definitions (IDs, fields and their indexes), and the answer came
        # after the catalog had them: DNS answers the restored query at once.
        restored, restored_index = query_set(agent)
        assert restored == saved, (restored, saved)
        assert restored_index > moved_index
        d = agent.dig("web-fast.query.consul", "SRV")
        assert d.status == "NOERROR" and d.answer, d.out
        assert d.answer[0]["data"].split()[2] == "80", d.out
        assert agent.dig("extra.query.consul", "SRV").status == "NXDOMAIN"
        assert agent.api("GET", "/v1/query/keep/execute")["Service"] == "web"
        # The restore itself was persisted: kill -9 and restart on the same data dir.
        agent.kill9()
        agent.start(keep_ports=True)
        again, again_index = query_set(agent)
        assert again == saved, (again, saved)
        assert again_index >= restored_index
        wait_for(lambda: agent.dig("web-fast.query.consul", "SRV").status == "NOERROR", 10,
                 what="web-fast.query.consul after restart")
        # New writes go on above the restore (the index never goes back).
        new = agent.api("POST", "/v1/query", {"Name": "later", "Service": {"Service": "web"}})
        later = agent.api("GET", "/v1/query/" + new["ID"])[0]
        assert later["CreateIndex"] > restored_index
    finally:
        agent.close()


def main():
    watchdog(440)
    backends = ["embedded"] + (["etcd"] if ETCD else [])
    if not ETCD:
        print("etcd is not installed (apt-get install etcd-server): embedded backend only")
    for name in backends:
        backend = Backend(name)
        try:
            with tempfile.TemporaryDirectory(prefix="beacon-snap-") as tmp:
                for test in (test_save_under_writes_inspect_wipe_restore,
                             test_restore_under_concurrent_writes,
                             test_restore_moves_on_and_wakes_blocking_queries,
                             test_client_agent_forwards, test_prepared_queries_round_trip):
                    backend.wipe()  # each test starts from an empty store
                    test(tmp, backend)
                    print("ok", name, test.__name__)
        finally:
            backend.close()


if __name__ == "__main__":
    main()
