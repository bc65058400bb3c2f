#!/usr/bin/env python3
"""Generate one Consul-shaped catalog for the DNS benchmark, in every form the servers need (stdlib only).

Shape (what Consul's DNS interface answers for a catalog registered through /v1/catalog/register):
  * N services, each with I instances (default 3) on I distinct nodes; one instance per node,
    so there are N*I nodes. Addresses are 10.0.0.1 upward (record data only, never contacted).
  * service  svc-<i>   (zero-padded, e.g. svc-0001 .. svc-1000, svc-000001 .. svc-100000)
  * node     node-<k>  (zero-padded, e.g. node-0001 .. node-3000)
  * port     20000 + (i % 20000)  for every instance of service i

Outputs (in --out DIR):
  consul.zone        RFC 1035 master file for NSD and Knot:
                       <svc>.service.consul.         A    one per instance (node address)
                       <svc>.service.consul.         SRV  1 1 <port> <node>.node.<dc>.consul.
                       _<svc>._tcp.service.consul.   SRV  same as above (RFC 2782 form)
                       <node>.node.consul.           A    node address
                       <node>.node.<dc>.consul.      A    node address (the SRV targets)
                       SOA + NS at the apex, ns.consul. A 127.0.0.1
                     The SRV targets are exactly what Consul/Beacon put in SRV answers, and the
                     target A records exist, so every server can add the same additional A records.
  catalog-seed.json  Beacon catalog seed: a JSON array of Consul /v1/catalog/register bodies, one per
                     instance: {"Node","Address","Datacenter","Service":{"ID","Service","Port","Tags"}}
                     (loaded with `beacon agent -catalog-seed FILE`).
  queries.txt        dnsperf input, --count lines, fixed --seed, drawn uniformly over the catalog:
                       60% A    <svc>.service.consul
                       25% SRV  half <svc>.service.consul, half _<svc>._tcp.service.consul
                       10% A    <node>.node.consul
                        5% A    missing-<n>.service.consul / ghost-<n>.node.consul (NXDOMAIN)
  catalog.json       sizes, naming parameters and probe names (read by compare.sh)

Names, addresses, ports and the query stream are identical to the team's earlier
gen_zone.py + gen_queries.py (same seed gives the same queries.txt), so results stay comparable
with BASELINE.md.

Examples:
  python3 bench/gen_catalog.py --services 1000 --out bench/out/s1000
  python3 bench/gen_catalog.py --services 10 --count 100 --out /tmp/tiny
"""
import argparse
import bisect
import json
import os
import random
import sys


def width_for(n):
    return max(4, len(str(n)))


def svc_name(i, width):
    return "svc-%0*d" % (width, i + 1)


def node_name(i, width):
    return "node-%0*d" % (width, i + 1)


def node_ip(i):
    v = i + 1  # 10.0.0.1 upward
    if v >= 1 << 24:
        raise ValueError("too many nodes for 10.0.0.0/8")
    return "10.%d.%d.%d" % ((v >> 16) & 255, (v >> 8) & 255, v & 255)


def svc_port(i):
    return 20000 + (i % 20000)


def instance_node(svc, j, instances, nodes):
    return (svc * instances + j) % nodes


def write_zone(path, n, inst, nodes, sw, nw, d, dc, ttl):
    with open(path, "w") as z:
        w = z.write
        w("$ORIGIN %s.\n$TTL %d\n" % (d, ttl))
        w("@ %d IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d\n" % (ttl, d, d, ttl))
        w("@ %d IN NS ns.%s.\n" % (ttl, d))
        w("ns %d IN A 127.0.0.1\n" % ttl)
        for k in range(nodes):
            nm, ip = node_name(k, nw), node_ip(k)
            w("%s.node %d IN A %s\n" % (nm, ttl, ip))
            w("%s.node.%s %d IN A %s\n" % (nm, dc, ttl, ip))
        for i in range(n):
            s = svc_name(i, sw)
            port = svc_port(i)
            ks = [instance_node(i, j, inst, nodes) for j in range(inst)]
            for k in ks:
                w("%s.service %d IN A %s\n" % (s, ttl, node_ip(k)))
            for k in ks:
                w("%s.service %d IN SRV 1 1 %d %s.node.%s.%s.\n" % (s, ttl, port, node_name(k, nw), dc, d))
            for k in ks:
                w("_%s._tcp.service %d IN SRV 1 1 %d %s.node.%s.%s.\n" % (s, ttl, port, node_name(k, nw), dc, d))


def write_seed(path, n, inst, nodes, sw, nw, dc):
    """One /v1/catalog/register body per instance; the node carries exactly that instance."""
    with open(path, "w") as f:
        f.write("[\n")
        first = True
        for i in range(n):
            s = svc_name(i, sw)
            port = svc_port(i)
            for j in range(inst):
                k = instance_node(i, j, inst, nodes)
                body = {"Node": node_name(k, nw), "Address": node_ip(k), "Datacenter": dc,
                        "Service": {"ID": s, "Service": s, "Port": port, "Tags": []}}
                f.write(("" if first else ",\n") + json.dumps(body, separators=(",", ":")))
                first = False
        f.write("\n]\n")


def write_queries(path, n, nodes, sw, nw, d, count, seed, mix, zipf):
    """Same random stream as gen_queries.py, so the same seed yields the same file."""
    rnd = random.Random(seed)

    def picker(size):
        if zipf <= 0:
            return lambda: rnd.randrange(size)
        cum, acc = [], 0.0
        for r in range(1, size + 1):
            acc += 1.0 / r ** zipf
            cum.append(acc)
        perm = list(range(size))
        rnd.shuffle(perm)
        return lambda: perm[min(bisect.bisect_left(cum, rnd.random() * acc), size - 1)]

    pick_svc, pick_node = picker(n), picker(nodes)
    a_svc, srv_svc, a_node, nx = mix
    total = a_svc + srv_svc + a_node + nx
    t1 = a_svc / total
    t2 = t1 + srv_svc / total
    t3 = t2 + a_node / total
    lines = []
    for _ in range(count):
        r = rnd.random()
        if r < t1:
            lines.append("%s.service.%s A" % (svc_name(pick_svc(), sw), d))
        elif r < t2:
            s = svc_name(pick_svc(), sw)
            if rnd.random() < 0.5:
                lines.append("%s.service.%s SRV" % (s, d))
            else:
                lines.append("_%s._tcp.service.%s SRV" % (s, d))
        elif r < t3:
            lines.append("%s.node.%s A" % (node_name(pick_node(), nw), d))
        else:
            if rnd.random() < 0.7:
                lines.append("missing-%d.service.%s A" % (rnd.randrange(10 ** 7), d))
            else:
                lines.append("ghost-%d.node.%s A" % (rnd.randrange(10 ** 7), d))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=3, help="instances per service, each on a distinct node")
    ap.add_argument("--dc", default="dc1")
    ap.add_argument("--domain", default="consul")
    ap.add_argument("--ttl", type=int, default=0, help="zone TTL (0 = Consul's default node_ttl/service_ttl)")
    ap.add_argument("--count", type=int, default=200000, help="queries to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--a-svc", type=float, default=0.60)
    ap.add_argument("--srv-svc", type=float, default=0.25)
    ap.add_argument("--a-node", type=float, default=0.10)
    ap.add_argument("--nx", type=float, default=0.05)
    ap.add_argument("--zipf", type=float, default=0.0, help="0 = uniform; e.g. 1.0 for skewed popularity")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    n, inst = args.services, args.instances
    if n < 1 or inst < 1:
        sys.exit("need --services >= 1 and --instances >= 1")
    nodes = n * inst  # one instance per node: a service's instances are on distinct nodes
    sw, nw = width_for(n), width_for(nodes)
    d, dc = args.domain.strip(".").lower(), args.dc.lower()
    os.makedirs(args.out, exist_ok=True)

    # Write to temporary names and rename at the end, so an interrupted run never leaves a
    # half-written catalog that a later run would take as complete.
    final = {"zone": "%s.zone" % d, "seed": "catalog-seed.json", "queries": "queries.txt"}
    tmp = {k: os.path.join(args.out, v + ".tmp") for k, v in final.items()}
    write_zone(tmp["zone"], n, inst, nodes, sw, nw, d, dc, args.ttl)
    write_seed(tmp["seed"], n, inst, nodes, sw, nw, dc)
    write_queries(tmp["queries"], n, nodes, sw, nw, d, args.count, args.seed,
                  (args.a_svc, args.srv_svc, args.a_node, args.nx), args.zipf)

    rrs = 3 + 2 * nodes + 3 * n * inst
    first_node = node_name(0, nw)
    meta = dict(services=n, instances=inst, nodes=nodes, dc=dc, domain=d, ttl=args.ttl,
                svc_width=sw, node_width=nw, records=rrs, queries=args.count, seed=args.seed,
                first_service="%s.service.%s" % (svc_name(0, sw), d),
                first_service_rfc2782="_%s._tcp.service.%s" % (svc_name(0, sw), d),
                first_node="%s.node.%s" % (first_node, d),
                first_node_dc="%s.node.%s.%s" % (first_node, dc, d),
                last_service="%s.service.%s" % (svc_name(n - 1, sw), d),
                missing_service="missing-1.service.%s" % d)
    for k, v in final.items():
        os.replace(tmp[k], os.path.join(args.out, v))
    with open(os.path.join(args.out, "catalog.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("wrote %s: %d services x %d instances, %d nodes, %d RRs, %d queries" % (
        args.out, n, inst, nodes, rrs, args.count))


if __name__ == "__main__":
    main()
