#!/usr/bin/env python3
"""Tiny stdlib DNS/UDP probe for the benchmark runner. Only ever talks to 127.0.0.1.

  dnsprobe.py wait    PORT NAME TYPE T0 TIMEOUT [PID]
        poll (every 10 ms) until NAME/TYPE answers NOERROR with >=1 answer; print the seconds
        since T0 (epoch float), or "timeout", or "died" once PID has exited
  dnsprobe.py check   PORT NAME TYPE
        one query; print rcode, flags, section counts and size
  dnsprobe.py answers PORT NAME TYPE
        one query; print a normalised form of the reply (rcode, then the answer RRs and the
        additional A/AAAA RRs sorted, TTLs left out) so replies from different servers can be diffed
  dnsprobe.py free    PORT [COUNT]
        print the first port in PORT..PORT+COUNT-1 (default 50) where 127.0.0.1 UDP and TCP can both
        be bound, i.e. nothing else is listening there; exit 1 if none is free
"""
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33, "OPT": 41, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def build(name, qtype, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", TYPES[qtype], 1)


def query(port, name, qtype, timeout):
    """Returns the raw reply, or None (timeout, error, or a reply to some other query)."""
    qid = random.randrange(65536)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(build(name, qtype, qid), ("127.0.0.1", port))
        data, _ = s.recvfrom(65535)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    return data


def header(data):
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    return dict(rcode=RCODES.get(flags & 15, str(flags & 15)), aa=bool(flags & 0x400),
                tc=bool(flags & 0x200), an=an, ns=ns, ar=ar, qd=qd, size=len(data))


def ask(port, name, qtype, timeout):
    data = query(port, name, qtype, timeout)
    return header(data) if data else None


def read_name(data, off):
    """Returns (lower-case name with trailing dot, offset after the name in the record)."""
    labels, end, hops = [], None, 0
    while True:
        ln = data[off]
        if ln & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((ln & 0x3F) << 8) | data[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        off += 1
        if ln == 0:
            break
        labels.append(data[off:off + ln].decode("ascii", "replace").lower())
        off += ln
    return ".".join(labels) + ".", (end if end is not None else off)


def rdata_text(data, rtype, off, rdlen):
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntop(socket.AF_INET, data[off:off + 4])
    if rtype == 28 and rdlen == 16:
        return socket.inet_ntop(socket.AF_INET6, data[off:off + 16])
    if rtype == 33:
        prio, weight, port = struct.unpack(">HHH", data[off:off + 6])
        return "%d %d %d %s" % (prio, weight, port, read_name(data, off + 6)[0])
    if rtype in (2, 5, 12):
        return read_name(data, off)[0]
    if rtype == 6:
        mname, o = read_name(data, off)
        rname, o = read_name(data, o)
        return "%s %s %d %d %d %d %d" % ((mname, rname) + struct.unpack(">IIIII", data[o:o + 20]))
    return "\\# %d %s" % (rdlen, data[off:off + rdlen].hex())


def parse(data):
    h = header(data)
    off = 12
    for _ in range(h["qd"]):
        off = read_name(data, off)[1] + 4
    sections = {"an": [], "ns": [], "ar": []}
    for sec in ("an", "ns", "ar"):
        for _ in range(h[sec]):
            name, off = read_name(data, off)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", data[off:off + 10])
            off += 10
            sections[sec].append((name, TYPE_NAMES.get(rtype, "TYPE%d" % rtype), ttl,
                                  rdata_text(data, rtype, off, rdlen)))
            off += rdlen
    return h, sections


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] != "Z"


def main():
    cmd = sys.argv[1]
    if cmd == "free":
        base = int(sys.argv[2])
        count = int(sys.argv[3]) if len(sys.argv) > 3 else 50
        for p in range(base, min(base + count, 65536)):
            if port_free(p):
                print(p)
                return 0
        return 1
    port, name, qtype = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if cmd == "wait":
        t0, limit = float(sys.argv[5]), float(sys.argv[6])
        pid = int(sys.argv[7]) if len(sys.argv) > 7 else 0
        while True:
            r = ask(port, name, qtype, 0.05)
            now = time.time()
            if r and r["rcode"] == "NOERROR" and r["an"] > 0:
                print("%.3f" % (now - t0))
                return 0
            if now - t0 > limit:
                print("timeout")
                return 1
            if pid and not alive(pid):
                print("died")
                return 1
            time.sleep(0.01)
    elif cmd == "check":
        r = ask(port, name, qtype, 2.0)
        if not r:
            print("%s %s: no answer" % (name, qtype))
            return 1
        print("%s %s: %s aa=%d tc=%d an=%d ns=%d ar=%d size=%d" % (
            name, qtype, r["rcode"], r["aa"], r["tc"], r["an"], r["ns"], r["ar"], r["size"]))
        return 0
    elif cmd == "answers":
        data = query(port, name, qtype, 2.0)
        if not data:
            print("%s %s: no answer" % (name, qtype))
            return 1
        h, secs = parse(data)
        print("%s %s: %s" % (name, qtype, h["rcode"]))
        for rr in sorted(secs["an"]):
            print("  answer %s %s %s" % (rr[0], rr[1], rr[3]))
        for rr in sorted(secs["ar"]):
            if rr[1] in ("A", "AAAA"):
                print("  additional %s %s %s" % (rr[0], rr[1], rr[3]))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
