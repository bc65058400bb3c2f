// node-consul (npm `consul` 2.x) against a running Beacon agent.
// Started by tests/integration/test_node_consul.py with BEACON_HTTP_PORT and BEACON_DNS_PORT set;
// uses node's built-in test runner (node:test), so a failing assertion makes `node` exit non-zero.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const dns = require("node:dns");
const Consul = require("consul");

const HTTP_PORT = Number(process.env.BEACON_HTTP_PORT);
const DNS_PORT = Number(process.env.BEACON_DNS_PORT);
const NODE = process.env.BEACON_NODE || "jsnode";

// Every request has a client-side timeout, so a broken server cannot hang the run.
const consul = new Consul({ host: "127.0.0.1", port: HTTP_PORT, defaults: { timeout: 15000 } });

const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
resolver.setServers([`127.0.0.1:${DNS_PORT}`]);

async function dnsA(name) {
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (err) {
    if (err.code === "ENOTFOUND" || err.code === "ENODATA") return [];
    throw err;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// node-consul 2.0.1 resolves a JSON `false` reply (cas/acquire refused) as undefined: papi's
// pipeline drops falsy results (`!value && maybeValue`). The server answers `false`, as Consul
// does (test_http_api.py checks the raw body), so a refusal shows up here as undefined.
const NODE_CONSUL_FALSE = undefined;

// Resolves with the first `change` event for which pred(data) is true; rejects on a watch error
// or after timeoutMs.
function watchUntil(opts, pred, timeoutMs, onStarted) {
  return new Promise((resolve, reject) => {
    const w = consul.watch(opts);
    let first = true;
    const timer = setTimeout(() => {
      w.end();
      reject(new Error("watch saw no matching change within " + timeoutMs + " ms"));
    }, timeoutMs);
    w.on("change", (data, res) => {
      if (first) {
        first = false;
        // onStarted returns a promise (the write that should trigger the change)
        if (onStarted) {
          Promise.resolve(onStarted(data, res)).catch((err) => {
            clearTimeout(timer);
            w.end();
            reject(err);
          });
        }
      }
      if (pred(data)) {
        clearTimeout(timer);
        w.end();
        resolve({ data, index: res.headers["x-consul-index"] });
      }
    });
    w.on("error", (err) => {
      clearTimeout(timer);
      w.end();
      reject(err);
    });
  });
}

test("status leader and peers", async () => {
  const server = `127.0.0.1:${process.env.BEACON_SERVER_PORT}`;
  assert.equal(await consul.status.leader(), server);
  assert.deepEqual(await consul.status.peers(), [server]);
});

test("event fire and list", async () => {
  const ev = await consul.event.fire("js-deploy", "v5");
  assert.equal(ev.Name, "js-deploy");
  assert.equal(ev.Payload, "v5");
  const events = await consul.event.list("js-deploy");
  assert.deepEqual(events.map((e) => e.ID), [ev.ID]);
  assert.equal(events[0].Payload, "v5");
  await assert.rejects(consul.event.fire({ name: "x", tag: "v1" }), /tag filter without service/);
});

test("kv set/get/keys/del, flags and cas", async () => {
  assert.equal(await consul.kv.set("js/a", "1"), true);
  assert.equal(await consul.kv.set({ key: "js/b/c", value: "2", flags: 5 }), true);
  const a = await consul.kv.get("js/a");
  assert.equal(a.Key, "js/a");
  assert.equal(a.Value, "1");
  assert.equal(a.Flags, 0);
  assert.equal((await consul.kv.get("js/b/c")).Flags, 5);
  const all = await consul.kv.get({ key: "js/", recurse: true });
  assert.deepEqual(all.map((e) => [e.Key, e.Value]), [["js/a", "1"], ["js/b/c", "2"]]);
  assert.deepEqual(await consul.kv.keys({ key: "js/", separator: "/" }), ["js/a", "js/b/"]);
  assert.equal(await consul.kv.get({ key: "js/a", raw: true }).then((b) => b.toString()), "1");
  assert.equal(await consul.kv.get("js/missing"), undefined);
  // cas
  assert.equal(await consul.kv.set({ key: "js/cas", value: "x", cas: 0 }), true);
  assert.equal(await consul.kv.set({ key: "js/cas", value: "y", cas: 0 }), NODE_CONSUL_FALSE);
  const idx = (await consul.kv.get("js/cas")).ModifyIndex;
  assert.equal(await consul.kv.set({ key: "js/cas", value: "y", cas: idx }), true);
  assert.equal(await consul.kv.del({ key: "js/cas", cas: idx }), NODE_CONSUL_FALSE);
  // delete
  assert.equal(await consul.kv.del("js/a"), true);
  assert.equal(await consul.kv.get("js/a"), undefined);
  assert.equal(await consul.kv.del({ key: "js/", recurse: true }), true);
  assert.equal(await consul.kv.get({ key: "js/", recurse: true }), undefined);
});

test("kv errors surface as errors with the server's message", async () => {
  await assert.rejects(consul.kv.set({ key: "js/x", value: "v", cas: 1, acquire: "s" }),
    (err) => err.statusCode === 400 || (err.response && err.response.statusCode === 400));
});

test("watch on kv.get emits a change when another client writes", async () => {
  await consul.kv.set("js/watch", "before");
  const other = new Consul({ host: "127.0.0.1", port: HTTP_PORT, defaults: { timeout: 15000 } });
  const got = await watchUntil(
    { method: consul.kv.get, options: { key: "js/watch", wait: "10s" } },
    (data) => data && data.Value === "after",
    15000,
    () => sleep(300).then(() => other.kv.set("js/watch", "after")));
  assert.equal(got.data.Key, "js/watch");
  other.destroy();
  assert.ok(BigInt(got.index) > 0n);
});

test("agent self, members, service register with ttl check, pass, deregister", async () => {
  const self = await consul.agent.self();
  assert.equal(self.Config.NodeName, NODE);
  assert.equal(self.Config.Datacenter, "dc1");
  assert.equal(typeof self.Config.Server, "boolean");
  assert.equal(self.Member.Name, NODE);
  const members = await consul.agent.members();
  assert.deepEqual(members.map((m) => m.Name), [NODE]);

  await consul.agent.service.register({
    name: "jsweb", id: "jsweb-1", port: 8081, tags: ["x", "y"], meta: { v: "1" },
    check: { ttl: "30s" },
  });
  const svcs = await consul.agent.service.list();
  assert.equal(svcs["jsweb-1"].Service, "jsweb");
  assert.deepEqual(svcs["jsweb-1"].Tags, ["x", "y"]);
  assert.deepEqual(svcs["jsweb-1"].Meta, { v: "1" });
  const checks = await consul.agent.check.list();
  assert.equal(checks["service:jsweb-1"].Status, "critical");
  assert.deepEqual(await dnsA("jsweb.service.consul"), []);
  await consul.agent.check.pass({ id: "service:jsweb-1", note: "ok" });
  assert.equal((await consul.agent.check.list())["service:jsweb-1"].Status, "passing");
  assert.deepEqual(await dnsA("jsweb.service.consul"), ["127.0.0.1"]);
  await consul.agent.check.warn("service:jsweb-1");
  assert.equal((await consul.agent.check.list())["service:jsweb-1"].Status, "warning");
  await consul.agent.check.fail("service:jsweb-1");
  assert.equal((await consul.agent.check.list())["service:jsweb-1"].Status, "critical");
  await consul.agent.service.deregister("jsweb-1");
  assert.equal((await consul.agent.service.list())["jsweb-1"], undefined);
  // Consul's "Unknown service ID ..." text is longer than 80 bytes, so papi reports the reason
  // phrase instead; the status is what the caller can rely on.
  await assert.rejects(consul.agent.service.deregister("jsweb-1"), (err) => err.statusCode === 404);
});

test("agent check register/deregister and maintenance", async () => {
  await consul.agent.check.register({ name: "jsdisk", id: "jsdisk", ttl: "60s" });
  assert.ok((await consul.agent.check.list()).jsdisk);
  await consul.agent.check.deregister("jsdisk");
  assert.equal((await consul.agent.check.list()).jsdisk, undefined);
  await consul.agent.service.register({ name: "jsmaint", port: 1 });
  await consul.agent.service.maintenance({ id: "jsmaint", enable: true, reason: "r" });
  assert.ok((await consul.agent.check.list())["_service_maintenance:jsmaint"]);
  await consul.agent.service.maintenance({ id: "jsmaint", enable: false });
  assert.equal((await consul.agent.check.list())["_service_maintenance:jsmaint"], undefined);
  await consul.agent.maintenance({ enable: true, reason: "node" });
  assert.ok((await consul.agent.check.list())._node_maintenance);
  await consul.agent.maintenance(false);
  assert.equal((await consul.agent.check.list())._node_maintenance, undefined);
  await consul.agent.service.deregister("jsmaint");
  await consul.agent.reload();
});

test("catalog register, list, node, service, deregister; DNS follows at once", async () => {
  await consul.catalog.register({
    node: "jsext", address: "127.0.0.61", nodemeta: { zone: "z1" },
    service: { service: "jsdb", port: 5432, tags: ["primary"] },
    check: { checkid: "jsdb-ok", name: "db", status: "passing", serviceid: "jsdb" },
  });
  assert.deepEqual(await dnsA("jsdb.service.consul"), ["127.0.0.61"]);
  assert.deepEqual(await consul.catalog.datacenters(), ["dc1"]);
  const nodes = await consul.catalog.node.list();
  assert.ok(nodes.some((n) => n.Node === "jsext" && n.Meta.zone === "z1"));
  const services = await consul.catalog.service.list();
  assert.deepEqual(services.jsdb, ["primary"]);
  const sn = await consul.catalog.service.nodes({ service: "jsdb", tag: "primary" });
  assert.deepEqual(sn.map((s) => [s.Node, s.ServicePort]), [["jsext", 5432]]);
  const node = await consul.catalog.node.services("jsext");
  assert.ok(node.Services.jsdb);
  // health
  const passing = await consul.health.service({ service: "jsdb", passing: true });
  assert.deepEqual(passing.map((e) => e.Node.Node), ["jsext"]);
  assert.deepEqual((await consul.health.checks("jsdb")).map((c) => c.CheckID), ["jsdb-ok"]);
  assert.deepEqual((await consul.health.node("jsext")).map((c) => c.Status), ["passing"]);
  assert.ok((await consul.health.state("passing")).some((c) => c.CheckID === "jsdb-ok"));
  await consul.catalog.deregister({ node: "jsext", serviceid: "jsdb" });
  assert.deepEqual(await consul.catalog.service.nodes("jsdb"), []);
  assert.deepEqual(await dnsA("jsdb.service.consul"), []);
  await consul.catalog.deregister({ node: "jsext" });
});

test("watch on health.service emits a change when an instance registers", async () => {
  const got = await watchUntil(
    { method: consul.health.service, options: { service: "jswatched", wait: "10s" } },
    (data) => Array.isArray(data) && data.length === 1,
    15000,
    () => sleep(300).then(() => consul.agent.service.register({ name: "jswatched", port: 9 })));
  assert.equal(got.data[0].Service.Service, "jswatched");
  await consul.agent.service.deregister("jswatched");
});

test("session create/info/node/list/renew/destroy and kv locks", async () => {
  const { ID: sid } = await consul.session.create({ name: "jslock", ttl: "30s", lockdelay: "0s" });
  assert.equal(sid.length, 36);
  const info = await consul.session.info(sid);
  assert.equal(info.ID, sid);
  assert.equal(info.Name, "jslock");
  assert.equal(info.Node, NODE);
  assert.ok((await consul.session.list()).some((s) => s.ID === sid));
  assert.ok((await consul.session.node(NODE)).some((s) => s.ID === sid));
  const renewed = await consul.session.renew(sid);
  assert.equal(renewed[0].ID, sid);
  const { ID: other } = await consul.session.create({ behavior: "delete" });
  assert.equal(await consul.kv.set({ key: "jslocks/l", value: "me", acquire: sid }), true);
  assert.equal((await consul.kv.get("jslocks/l")).Session, sid);
  assert.equal(await consul.kv.set({ key: "jslocks/l", value: "them", acquire: other }),
    NODE_CONSUL_FALSE);
  assert.equal(await consul.kv.set({ key: "jslocks/l", value: "free", release: sid }), true);
  assert.equal((await consul.kv.get("jslocks/l")).Session, undefined);
  assert.equal(await consul.kv.set({ key: "jslocks/l", value: "them", acquire: other }), true);
  // session.destroy resolves with nothing (node-consul's utils.empty), whatever the body says
  await consul.session.destroy(other);
  assert.equal(await consul.kv.get("jslocks/l"), undefined); // behavior=delete
  assert.equal(await consul.session.info(other), undefined);
  await consul.session.destroy(sid);
  await assert.rejects(consul.session.renew(sid));
});

test("transaction: set and get in one call, rollback on a failed check", async () => {
  const b64 = (s) => Buffer.from(s).toString("base64");
  const res = await consul.transaction.create([
    { KV: { Verb: "set", Key: "jstxn/a", Value: b64("1") } },
    { KV: { Verb: "get", Key: "jstxn/a" } },
  ]);
  assert.equal(res.Results.length, 2);
  assert.equal(Buffer.from(res.Results[1].KV.Value, "base64").toString(), "1");
  await assert.rejects(consul.transaction.create([
    { KV: { Verb: "set", Key: "jstxn/b", Value: b64("2") } },
    { KV: { Verb: "check-not-exists", Key: "jstxn/a" } },
  ]), (err) => err.statusCode === 409 || (err.response && err.response.statusCode === 409));
  assert.equal(await consul.kv.get("jstxn/b"), undefined);
});

test("prepared queries: create, get, list, execute, explain, update, destroy, and DNS", async () => {
  await consul.agent.service.register({ name: "jsq", id: "jsq-1", port: 7001, tags: ["blue"] });
  await consul.agent.service.register({ name: "jsq", id: "jsq-2", port: 7002, tags: ["green"] });
  const { ID: id } = await consul.query.create({
    name: "jsq-blue",
    service: { service: "jsq", tags: ["blue"], onlypassing: true },
    dns: { ttl: "20s" },
  });
  const got = await consul.query.get(id);
  assert.equal(got.Name, "jsq-blue");
  assert.deepEqual(got.Service.Tags, ["blue"]);
  assert.equal(got.DNS.TTL, "20s");
  assert.ok((await consul.query.list()).some((q) => q.ID === id));
  const res = await consul.query.execute("jsq-blue");
  assert.deepEqual(res.Nodes.map((n) => n.Service.ID), ["jsq-1"]);
  assert.equal(res.Datacenter, "dc1");
  // query.explain is left out: node-consul 2.x reads the reply with utils.bodyItem (the first
  // element of an array), but Consul (and Beacon) answer explain with an object.
  assert.deepEqual(await dnsA("jsq-blue.query.consul"), ["127.0.0.1"]);
  await consul.query.update({ query: id, name: "jsq-blue", service: { service: "jsq", tags: ["!blue"] } });
  const after = await consul.query.execute({ query: id });
  assert.deepEqual(after.Nodes.map((n) => n.Service.ID), ["jsq-2"]);
  await consul.query.destroy(id);
  assert.deepEqual(await dnsA("jsq-blue.query.consul"), []);
});

test.after(() => consul.destroy());
