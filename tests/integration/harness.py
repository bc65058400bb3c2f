"""Integration-test harness for Beacon's DNS server (Python 3 stdlib only).

- free loopback ports (free for UDP *and* TCP),
- an Agent wrapper that writes config / seed files into a TemporaryDirectory, starts the real
  binary, waits until the DNS port answers, reloads it with SIGHUP and stops it (SIGTERM, then
  SIGKILL after 5 s),
- a `dig` wrapper that parses status, flags and sections,
- a tiny DNS wire-format codec for raw-socket tests and for fake upstream recursors.

Every wait has a timeout. Only 127.0.0.0/8 addresses are used.
"""

import atexit
import http.client
import http.server
import json
import socketserver
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

BEACON = os.environ.get("BEACON", "/work/main/build/beacon")
DIG = shutil.which("dig") or "/usr/bin/dig"
DNSMASQ = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)
LOOPBACK = "127.0.0.1"

# Qtypes / classes / rcodes used here.
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
          "SRV": 33, "OPT": 41, "AXFR": 252, "ANY": 255}
QTYPE_NAMES = {v: k for k, v in QTYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

_live_processes = []


def _kill_leftovers():
    for p in list(_live_processes):
        stop_process(p)


atexit.register(_kill_leftovers)


# --------------------------------------------------------------------------------------------
# ports and processes

def free_port(host=LOOPBACK, tries=200):
    """A port that is currently free for both UDP and TCP on host."""
    for _ in range(tries):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind((host, port))
            except OSError:
                continue
            finally:
                t.close()
            return port
        finally:
            u.close()
    raise RuntimeError("no free UDP+TCP port found")


def stop_process(proc, term_timeout=5.0):
    """SIGTERM, then SIGKILL after term_timeout seconds. Returns the exit code."""
    if proc is None:
        return None
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=term_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    finally:
        if proc in _live_processes:
            _live_processes.remove(proc)
    return proc.returncode


def _socket_inodes(port):
    """Inodes of every UDP/TCP socket (v4 and v6) bound to local port `port`."""
    inodes = set()
    for fname in ("/proc/net/udp", "/proc/net/tcp", "/proc/net/udp6", "/proc/net/tcp6"):
        try:
            with open(fname) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10:
                continue
            if int(parts[1].rsplit(":", 1)[1], 16) == port:
                if fname.startswith("/proc/net/tcp") and parts[3] != "0A":
                    continue  # only listeners for TCP (skip client connections)
                inodes.add(parts[9])
    return inodes


def _process_socket_inodes(pid):
    out = set()
    fd_dir = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", target)
            if m:
                out.add(m.group(1))
    except OSError:
        pass
    return out


def foreign_sockets(port, pid):
    """Sockets on `port` that do not belong to process `pid` (Beacon binds with SO_REUSEPORT, so
    another root process could silently share its port and steal queries)."""
    return _socket_inodes(port) - _process_socket_inodes(pid)


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value or timeout seconds pass (then raise)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - polled predicates may fail transiently
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# DNS wire format (just enough for raw tests and fake servers)

def encode_name(name):
    out = b""
    name = name.rstrip(".")
    if name:
        for label in name.split("."):
            raw = label.encode()
            if not 0 < len(raw) < 64:
                raise ValueError("bad label %r" % label)
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def build_query(name, qtype="A", qid=None, rd=True, opcode=0, qr=False, edns=None,
                qdcount=None, ancount=0, nscount=0, arcount=None):
    """A query message. edns: None (no OPT) or the advertised UDP size."""
    if qid is None:
        qid = random.randint(0, 0xFFFF)
    flags = (0x8000 if qr else 0) | ((opcode & 0xF) << 11) | (0x0100 if rd else 0)
    qt = QTYPES[qtype] if isinstance(qtype, str) else qtype
    question = encode_name(name) + struct.pack("!HH", qt, 1)
    additional = b""
    if edns is not None:
        additional = b"\x00" + struct.pack("!HHIH", 41, edns, 0, 0)
    if qdcount is None:
        qdcount = 1
    if arcount is None:
        arcount = 1 if edns is not None else 0
    header = struct.pack("!HHHHHH", qid, flags, qdcount, ancount, nscount, arcount)
    return header + question + additional


def parse_header(data):
    if len(data) < 12:
        raise ValueError("short header")
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return {
        "id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
        "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rd": bool(flags & 0x0100),
        "ra": bool(flags & 0x0080), "rcode": flags & 0xF,
        "rcode_name": RCODES.get(flags & 0xF, str(flags & 0xF)),
        "qdcount": qd, "ancount": an, "nscount": ns, "arcount": ar,
    }


def read_name(data, off, depth=0):
    """Decode a (possibly compressed) name; returns (name, offset after it)."""
    labels = []
    end = None
    jumps = 0
    while True:
        if off >= len(data):
            raise ValueError("name runs past end")
        ln = data[off]
        if ln & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise ValueError("truncated pointer")
            ptr = ((ln & 0x3F) << 8) | data[off + 1]
            if end is None:
                end = off + 2
            jumps += 1
            if jumps > 64:
                raise ValueError("compression loop")
            off = ptr
            continue
        if ln == 0:
            off += 1
            break
        labels.append(data[off + 1:off + 1 + ln].decode("latin-1"))
        off += 1 + ln
    return ".".join(labels) + ".", (end if end is not None else off)


def parse_message(data):
    """Header plus question and resource records (rdata kept raw, A/AAAA decoded)."""
    msg = parse_header(data)
    off = 12
    qs = []
    for _ in range(msg["qdcount"]):
        name, off = read_name(data, off)
        qt, qc = struct.unpack("!HH", data[off:off + 4])
        off += 4
        qs.append((name, QTYPE_NAMES.get(qt, qt), qc))
    msg["question"] = qs
    for sect, count in (("answer", msg["ancount"]), ("authority", msg["nscount"]),
                        ("additional", msg["arcount"])):
        rrs = []
        for _ in range(count):
            name, off = read_name(data, off)
            rt, rc, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
            off += 10
            rdata = data[off:off + rdlen]
            off += rdlen
            rr = {"name": name, "type": QTYPE_NAMES.get(rt, rt), "class": rc, "ttl": ttl,
                  "rdata": rdata}
            if rt == 1 and rdlen == 4:
                rr["data"] = socket.inet_ntop(socket.AF_INET, rdata)
            elif rt == 28 and rdlen == 16:
                rr["data"] = socket.inet_ntop(socket.AF_INET6, rdata)
            rrs.append(rr)
        msg[sect] = rrs
    return msg


def udp_exchange(port, payload, timeout=2.0, host=LOOPBACK):
    """Send one datagram; return the reply bytes or None on timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(payload, (host, port))
        try:
            data, _ = s.recvfrom(65535)
            return data
        except socket.timeout:
            return None
    finally:
        s.close()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_msg(sock):
    head = recv_exact(sock, 2)
    if head is None:
        return None
    (ln,) = struct.unpack("!H", head)
    return recv_exact(sock, ln)


def tcp_exchange(port, payload, timeout=3.0, host=LOOPBACK):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(payload)) + payload)
        return tcp_read_msg(s)


def tcp_alive(port, timeout=0.3, host=LOOPBACK):
    """True if a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def dns_alive(port, timeout=1.0, host=LOOPBACK):
    """True if a plain UDP query for the SOA of consul. gets any DNS reply with our ID."""
    q = build_query("consul", "SOA", qid=0x4242)
    r = udp_exchange(port, q, timeout=timeout, host=host)
    return r is not None and len(r) >= 12 and struct.unpack("!H", r[:2])[0] == 0x4242


# --------------------------------------------------------------------------------------------
# dig

class DigResult:
    """Parsed dig output. Records are dicts: name, ttl, class, type, data (rdata text)."""

    def __init__(self, args, rc, out, err, elapsed):
        self.args = args
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.status = None
        self.flags = set()
        self.counts = {}
        self.edns = None  # dict with 'udp' size, or None when the reply had no OPT
        self.question = []
        self.answer = []
        self.authority = []
        self.additional = []
        self.msg_size = None
        self._parse()

    @property
    def timed_out(self):
        return self.status is None

    def _parse(self):
        section = None
        for line in self.out.splitlines():
            s = line.strip()
            m = re.search(r"->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)", s)
            if m:
                self.opcode, self.status, self.id = m.group(1), m.group(2), int(m.group(3))
                continue
            m = re.match(r";; flags:([^;]*);(.*)$", s)
            if m:
                self.flags = set(m.group(1).split())
                for k, v in re.findall(r"(\w+): (\d+)", m.group(2)):
                    self.counts[k] = int(v)
                continue
            m = re.match(r"; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)", s)
            if m:
                self.edns = {"version": int(m.group(1)), "flags": m.group(2).split(),
                             "udp": int(m.group(3))}
                continue
            m = re.match(r";; MSG SIZE\s+rcvd: (\d+)", s)
            if m:
                self.msg_size = int(m.group(1))
                continue
            m = re.match(r";; (\w+) SECTION:", s)
            if m:
                section = m.group(1).lower()
                continue
            if not s:
                continue
            if s.startswith(";"):
                if section == "question" and not s.startswith(";;"):
                    parts = s[1:].split()
                    if len(parts) >= 3:
                        self.question.append({"name": parts[0], "class": parts[1], "type": parts[2]})
                continue
            if section in ("answer", "authority", "additional"):
                parts = s.split(None, 4)
                if len(parts) < 4:
                    continue
                rr = {"name": parts[0], "ttl": int(parts[1]), "class": parts[2], "type": parts[3],
                      "data": parts[4] if len(parts) > 4 else ""}
                getattr(self, section).append(rr)

    def records(self, section="answer", rtype=None):
        rrs = getattr(self, section)
        return [r for r in rrs if rtype is None or r["type"] == rtype]

    def data(self, section="answer", rtype=None):
        return sorted(r["data"] for r in self.records(section, rtype))

    def __repr__(self):
        return "DigResult(%s)\n%s%s" % (" ".join(self.args), self.out, self.err)


def dig(port, name, qtype=None, *opts, server=LOOPBACK, time_s=2, tries=1, timeout=None):
    """Run dig with +time/+tries and full section output; return a DigResult.

    opts are extra dig arguments such as '+tcp', '+noedns', '-x', '+bufsize=4096'.
    """
    args = [DIG, "@" + server, "-p", str(port), "+time=%d" % time_s, "+tries=%d" % tries,
            "+noall", "+comments", "+question", "+answer", "+authority", "+additional", "+stats"]
    args += list(opts)
    if name is not None:
        args.append(name)
    if qtype is not None:
        args.append(qtype)
    if timeout is None:
        timeout = time_s * tries + 10
    t0 = time.monotonic()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       text=True)
    return DigResult(args, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


# --------------------------------------------------------------------------------------------
# seed helpers

def seed_entry(node, address, service=None, checks=None, meta=None, tagged=None):
    e = {"Node": node, "Address": address}
    if meta:
        e["NodeMeta"] = meta
    if tagged:
        e["TaggedAddresses"] = tagged
    if service:
        e["Service"] = service
    if checks:
        e["Checks"] = checks
    return e


def svc(name, port, tags=(), address="", sid=None, weights=None):
    s = {"ID": sid or name, "Service": name, "Tags": list(tags), "Port": port}
    if address:
        s["Address"] = address
    if weights:
        s["Weights"] = weights
    return s


def check(cid, status, service_id=None):
    c = {"CheckID": cid, "Name": cid, "Status": status}
    if service_id:
        c["ServiceID"] = service_id
    return c


# --------------------------------------------------------------------------------------------
# the agent

class Agent:
    """One Beacon agent on free loopback ports.

    config: dict written as <config-dir>/00-test.json (None: an empty config dir).
    extra_config_files: {filename: dict-or-str} written into the config dir too.
    seed: list of catalog register bodies, passed with -catalog-seed.
    host: the loopback address it binds everything to (-bind and -client when not 127.0.0.1).
    serf_port: its Serf LAN (gossip) port; default a free one, so agents never share 8301.
    """

    def __init__(self, config=None, seed=None, extra_args=(), node="itest", extra_config_files=None,
                 log_level="info", data_dir=None, host=LOOPBACK, serf_port=None):
        self.host = host
        self.serf_port = serf_port
        self.fixed_serf_port = serf_port
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-it-")
        self.dir = self.tmp.name
        # data_dir: run without -dev, with -data-dir <data_dir> ("tmp": a directory in self.dir).
        if data_dir == "tmp":
            data_dir = os.path.join(self.dir, "data")
            os.mkdir(data_dir)
        self.data_dir = data_dir
        self.config_dir = os.path.join(self.dir, "config.d")
        os.mkdir(self.config_dir)
        self.config_path = os.path.join(self.config_dir, "00-test.json")
        self.node = node
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(self.dir, "agent.log")
        self.log_level = log_level
        self.proc = None
        self.wrap = []  # a command prefix (e.g. setpriv) the binary runs under
        self.dns_port = None
        self.http_port = None
        self.write_config(config if config is not None else {})
        for fname, content in (extra_config_files or {}).items():
            self.write_file(fname, content)
        self.seed_path = None
        if seed is not None:
            self.seed_path = os.path.join(self.dir, "seed.json")
            with open(self.seed_path, "w") as f:
                json.dump(seed, f)

    def write_file(self, fname, content):
        path = os.path.join(self.config_dir, fname)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def write_config(self, config):
        with open(self.config_path, "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config, indent=1))

    def start(self, timeout=10.0, keep_ports=False):
        """Start the agent; waits until DNS answers and the HTTP port accepts connections.

        keep_ports: reuse the ports of the previous run (a restart that clients must not notice).
        """
        last_err = None
        for _attempt in range(3):  # a port may be grabbed between probe and bind
            if not (keep_ports and self.dns_port and self.http_port):
                self.dns_port = free_port(self.host)
                self.http_port = free_port(self.host)
                while self.http_port == self.dns_port:
                    self.http_port = free_port(self.host)
            if not (keep_ports and getattr(self, "server_port", None)):
                self.server_port = None
                while self.server_port in (None, self.dns_port, self.http_port):
                    self.server_port = free_port(self.host)
            if self.fixed_serf_port is not None:
                self.serf_port = self.fixed_serf_port
            elif not (keep_ports and self.serf_port):
                self.serf_port = None
                while self.serf_port in (None, self.dns_port, self.http_port):
                    self.serf_port = free_port(self.host)
            args = list(self.wrap) + [BEACON, "agent"]
            if self.data_dir is None:
                args.append("-dev")
            else:
                args += ["-data-dir", self.data_dir]
            args += ["-node", self.node,
                     "-dns-port", str(self.dns_port), "-http-port", str(self.http_port),
                     "-config-dir", self.config_dir, "-log-level", self.log_level]
            if self.seed_path:
                args += ["-catalog-seed", self.seed_path]
            if "-serf-lan-port" not in self.extra_args:
                args += ["-serf-lan-port", str(self.serf_port)]
            if "-server-port" not in self.extra_args:
                args += ["-server-port", str(self.server_port)]
            if self.host != LOOPBACK:
                args += ["-bind", self.host, "-client", self.host]
            args += self.extra_args
            self.args = args
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
            _live_processes.append(self.proc)
            try:
                wait_for(lambda: self.proc.poll() is not None or dns_alive(self.dns_port, 0.3, self.host),
                         timeout, what="agent DNS on port %d" % self.dns_port)
            except TimeoutError as e:
                last_err = e
                self.stop()
                continue
            if self.proc.poll() is not None:
                last_err = RuntimeError("agent exited with %s:\n%s" % (self.proc.returncode,
                                                                        self.log_text()))
                self.stop()
                if "address already in use" in self.log_text().lower():
                    continue
                raise last_err
            if "-http-port" not in self.extra_args:
                try:
                    wait_for(lambda: self.proc.poll() is not None or tcp_alive(self.http_port, host=self.host),
                             timeout, what="agent HTTP on port %d" % self.http_port)
                except TimeoutError as e:
                    last_err = e
                    self.stop()
                    continue
                if self.proc.poll() is not None:
                    last_err = RuntimeError("agent exited with %s:\n%s"
                                            % (self.proc.returncode, self.log_text()))
                    self.stop()
                    if "address already in use" in self.log_text().lower():
                        continue
                    raise last_err
            foreign = foreign_sockets(self.dns_port, self.proc.pid)
            if foreign:
                last_err = RuntimeError("port %d is shared with another process (sockets %s)"
                                        % (self.dns_port, sorted(foreign)))
                self.stop()
                continue
            return self
        raise RuntimeError("agent did not start: %s\nlog:\n%s" % (last_err, self.log_text()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self, config=None):
        """Rewrite the main config (if given) and send SIGHUP."""
        if config is not None:
            self.write_config(config)
        self.proc.send_signal(signal.SIGHUP)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def port_shared(self):
        """Sockets of other processes on our DNS port (diagnostic for odd replies)."""
        if not self.alive():
            return set()
        return foreign_sockets(self.dns_port, self.proc.pid)

    def stop(self):
        rc = None
        if self.proc is not None:
            rc = stop_process(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return rc

    def kill9(self):
        """SIGKILL the agent (no shutdown path runs) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc in _live_processes:
            _live_processes.remove(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return self.proc.returncode if self.proc else None

    def close(self):
        self.stop()
        self.tmp.cleanup()

    @property
    def http_addr(self):
        return "%s:%d" % (self.host, self.http_port)

    @property
    def serf_addr(self):
        return "%s:%d" % (self.host, self.serf_port)

    def http(self, method, path, body=None, headers=None, timeout=10.0):
        """One HTTP request to the agent's API; returns HttpReply (status, headers, body)."""
        return http_request(self.http_port, method, path, body, headers, timeout, host=self.host)

    def api(self, method, path, body=None, timeout=10.0, expect=200):
        """JSON API call: body (dict/list) is JSON-encoded; asserts the status; returns the
        decoded JSON (None for an empty body)."""
        r = self.http(method, path, body, timeout=timeout)
        if expect is not None and r.status != expect:
            raise AssertionError("%s %s -> %d (want %d): %r" % (method, path, r.status, expect,
                                                                  r.body[:300]))
        return r.json() if r.body else None

    def dig(self, name, qtype=None, *opts, **kw):
        kw.setdefault("server", self.host)
        return dig(self.dns_port, name, qtype, *opts, **kw)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------
# fake upstream DNS servers (recursors)

class FakeUpstream:
    """UDP+TCP DNS server on 127.0.0.1.

    records: {(lower-case name without trailing dot, qtype): [ip, ...]} answered as A/AAAA with
    TTL 60; any other name gets NXDOMAIN. silent=True: never answer anything.
    """

    def __init__(self, records=None, silent=False, tc_names=(), echo=False):
        self.records = records if records is not None else {("example.org", "A"): ["1.2.3.4"],
                                                            ("big.example.org", "A"): ["1.2.3.5"],
                                                            ("www.example.com", "A"): ["1.2.3.6"]}
        self.silent = silent
        self.echo = echo  # UDP: send each query back unchanged (a misbehaving server's non-answer)
        self.tc_names = {n.rstrip(".").lower() for n in tc_names}
        self.queries = []
        self.port = None
        self._stop = threading.Event()
        self._threads = []
        self._socks = []

    def start(self):
        for _ in range(20):
            port = free_port()
            try:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind((LOOPBACK, port))
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind((LOOPBACK, port))
                t.listen(16)
            except OSError:
                continue
            self.port = port
            u.settimeout(0.2)
            t.settimeout(0.2)
            self._socks = [u, t]
            for target, sock in ((self._serve_udp, u), (self._serve_tcp, t)):
                th = threading.Thread(target=target, args=(sock,), daemon=True)
                th.start()
                self._threads.append(th)
            return self
        raise RuntimeError("no port for fake upstream")

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(timeout=2)
        for s in self._socks:
            s.close()

    def answer(self, data, transport="udp"):
        hdr = parse_header(data)
        name, off = read_name(data, 12)
        qtype, _qclass = struct.unpack("!HH", data[off:off + 4])
        question = data[12:off + 4]
        self.queries.append((name, QTYPE_NAMES.get(qtype, qtype), transport))
        key = (name.rstrip(".").lower(), QTYPE_NAMES.get(qtype, qtype))
        ips = self.records.get(key)
        known = any(k[0] == key[0] for k in self.records)
        rcode = 0 if known else 3
        flags = 0x8000 | (hdr["opcode"] << 11) | 0x0080 | (0x0100 if hdr["rd"] else 0) | rcode
        if transport == "udp" and key[0] in self.tc_names:
            flags |= 0x0200
        answers = b""
        for ip in ips or []:
            if ":" in ip:
                rdata = socket.inet_pton(socket.AF_INET6, ip)
                rt = 28
            else:
                rdata = socket.inet_pton(socket.AF_INET, ip)
                rt = 1
            answers += b"\xc0\x0c" + struct.pack("!HHIH", rt, 1, 60, len(rdata)) + rdata
        return struct.pack("!HHHHHH", hdr["id"], flags, 1, len(ips or []), 0, 0) + question + answers

    def _serve_udp(self, sock):
        while not self._stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if self.silent:
                self.queries.append(("<silent>", None, "udp"))
                continue
            try:
                sock.sendto(data if self.echo else self.answer(data), addr)
            except Exception:  # noqa: BLE001
                pass

    def _serve_tcp(self, sock):
        held = []
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if self.silent:
                held.append(conn)  # keep it open, never answer
                continue
            threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True).start()
        for c in held:
            c.close()

    def _tcp_conn(self, conn):
        conn.settimeout(5)
        try:
            while True:
                msg = tcp_read_msg(conn)
                if msg is None:
                    return
                reply = self.answer(msg, "tcp")
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except Exception:  # noqa: BLE001
            pass
        finally:
            conn.close()


def ipv4_to_hex(ip):
    return "".join("%02x" % int(x) for x in ip.split("."))


# --------------------------------------------------------------------------------------------
# HTTP: a one-shot client, /metrics servers for scrapers, a request-counting TCP proxy

class HttpReply:
    """status (int), headers (dict, lower-case names), body (bytes)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def index(self):
        """X-Consul-Index as an int (None when absent)."""
        v = self.headers.get("x-consul-index")
        return int(v) if v is not None else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "HttpReply(%d, %r, %r)" % (self.status, self.headers, self.body[:200])


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host=LOOPBACK):
    """One request on a fresh connection. body: bytes, str, or a dict/list sent as JSON."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return HttpReply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def quote_path(s):
    return urllib.parse.quote(s, safe="/")


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D102 - keep test output clean
        pass


class MetricsServer:
    """A tiny HTTP server on 127.0.0.1:<free port> that serves Prometheus text on /metrics and
    counts the scrapes it receives."""

    def __init__(self, name="t"):
        self.name = name
        self.scrapes = 0
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                outer.scrapes += 1
                body = ("# TYPE beacon_it_up gauge\nbeacon_it_up{server=\"%s\"} 1\n"
                        % outer.name).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = socketserver.ThreadingTCPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


_REQUEST_LINE = re.compile(rb"(GET|PUT|POST|DELETE|HEAD|OPTIONS|PATCH) (\S+) HTTP/1\.[01]\r\n")


class CountingProxy:
    """A TCP proxy 127.0.0.1:<port> -> 127.0.0.1:<target_port> that records every HTTP request
    line the clients send (method, path, time). Assumes bodiless requests or bodies that do not
    themselves contain request lines (true for scrapers' GETs)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.requests = []  # (monotonic time, method, path)
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def count_since(self, t0, prefix=""):
        with self._lock:
            return sum(1 for t, _m, p in self.requests if t >= t0 and p.startswith(prefix))

    def paths_since(self, t0):
        with self._lock:
            return [(m, p) for t, m, p in self.requests if t >= t0]

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection((LOOPBACK, self.target_port), timeout=5)
            except OSError:
                c.close()
                continue
            with self._lock:
                self.connections += 1
            for args in ((c, u, True), (u, c, False)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, src, dst, upstream):
        buf = b""
        src.settimeout(0.5)
        try:
            while not self._stop.is_set():
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                if upstream:
                    buf += data
                    now = time.monotonic()
                    last = 0
                    for m in _REQUEST_LINE.finditer(buf):
                        with self._lock:
                            self.requests.append((now, m.group(1).decode(),
                                                  m.group(2).decode("latin-1")))
                        last = m.end()
                    buf = buf[last:][-4096:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            src.close()


SKIP = 77  # meson's exit code for a skipped test


def skip(reason):
    """Exit the whole test file as skipped (meson shows SKIP) with a reason on stderr."""
    import sys
    sys.stderr.write("SKIP: %s\n" % reason)
    sys.stderr.flush()
    os._exit(SKIP)


def watchdog(seconds):
    """End the whole test process (agents killed, exit 1) if it is still running after `seconds`:
    client libraries without request timeouts (python-consul) must not hang a test run."""
    import sys

    def fire():
        sys.stderr.write("WATCHDOG: test still running after %ds, aborting\n" % seconds)
        sys.stderr.flush()
        _kill_leftovers()
        os._exit(1)

    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()
    return t
