#!/usr/bin/env python3
"""etcd's CPU per Beacon-shaped PUT: one txn per PUT vs several PUTs as nested txns of one txn
(what src/kv/etcd_group.cpp sends), straight to etcd's JSON gateway, without Beacon.

  MODE=single B=1 CL=8 python3 bench/etcd_nested_txn.py   # Beacon's txn shape, 8 clients
  B=1 CL=8 python3 bench/etcd_nested_txn.py               # one nested txn per txn
  B=3 CL=3 python3 bench/etcd_nested_txn.py               # 3 units a txn from 3 clients
Prints PUT/s, etcd's CPU per PUT and the machine's, for two 6 s rounds.
"""
import os, sys, time, json, subprocess, tempfile, http.client, multiprocessing as mp
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kv_etcd_bench as kb
from benchlib import free_port, wait_http
B = int(os.environ.get("B", "4")); CL = int(os.environ.get("CL", "8")); DUR = 6.0
def inner(k, slot):
    e, m = "/benchtxn/e/" + k, "/benchtxn/m/kv"
    return {"compare": [{"key": kb.b64(e), "target": "MOD", "result": "EQUAL", "mod_revision": "0"}],
            "success": [{"requestPut": {"key": kb.b64(e), "value": kb.b64(b"B" * 26 + kb.VALUE)}},
                        {"requestPut": {"key": kb.b64(slot), "value": kb.b64("r" * 36)}}],
            "failure": [{"requestRange": {"key": kb.b64(x)}} for x in (m, "/benchtxn/m/sessions", slot, e)]}
def body(keys, w):
    if len(keys) == 1 and os.environ.get("MODE") == "single":
        return kb.beacon_like_txn(keys[0])
    ops = [{"requestTxn": inner(k, "/benchtxn/w/%d/%d" % (w, j))} for j, k in enumerate(keys)]
    ops.append({"requestPut": {"key": kb.b64("/benchtxn/m/kv")}})
    return json.dumps({"success": ops})
def worker(a):
    port, w, until, bsz = a
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); n = i = 0
    while time.time() < until:
        keys = ["x/%d/%d/%d" % (w, i, j) for j in range(bsz)]; i += 1
        c.request("POST", "/v3/kv/txn", body=body(keys, w)); r = c.getresponse(); d = r.read()
        if r.status == 200:
            n += bsz
        elif n == 0 and i < 2:
            print(d[:300])
    return n
work = tempfile.mkdtemp(prefix="bexp-", dir="/tmp")
ec, ep = free_port(), free_port(); url = "http://127.0.0.1:%d" % ec
p = subprocess.Popen([kb.ETCD, "--name", "b0", "--data-dir", work + "/etcd", "--listen-client-urls", url,
    "--advertise-client-urls", url, "--listen-peer-urls", "http://127.0.0.1:%d" % ep,
    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ep, "--initial-cluster", "b0=http://127.0.0.1:%d" % ep,
    "--log-level", "error", "--logger", "zap"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait_http(url + "/health")
    with mp.Pool(CL) as pool:
        for rnd in range(2):
            until = time.time() + DUR; c0 = kb.cpu_seconds(p.pid); m0 = kb.machine_cpu_seconds(); t0 = time.time()
            n = sum(pool.map(worker, [(ec, w + 100 * rnd, until, B) for w in range(CL)]))
            el = time.time() - t0
            print("B=%d CL=%d mode=%s: %.0f PUT/s, etcd %.0f us/PUT, machine %.0f us/PUT" % (
                B, CL, os.environ.get("MODE", "nested"), n / el, (kb.cpu_seconds(p.pid) - c0) * 1e6 / n,
                (kb.machine_cpu_seconds() - m0) * 1e6 / n))
finally:
    p.terminate(); p.wait()
