// node-consul (npm `consul` 2.x) join and force-leave against a two-agent Beacon cluster.
// Started by tests/integration/test_node_cluster.py with BEACON_A_HTTP (host:port of agent A),
// BEACON_B_HTTP and BEACON_B_SERF (agent B's gossip address, host:port), node names in
// BEACON_A_NODE / BEACON_B_NODE. Agent A starts alone; this script makes it join B.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const Consul = require("consul");

function client(hostport) {
  const [host, port] = hostport.split(":");
  return new Consul({ host, port: Number(port), defaults: { timeout: 15000 } });
}

const a = client(process.env.BEACON_A_HTTP);
const b = client(process.env.BEACON_B_HTTP);
const A = process.env.BEACON_A_NODE;
const B = process.env.BEACON_B_NODE;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function aliveNames(c) {
  return (await c.agent.members())
    .filter((m) => m.Status === 1)
    .map((m) => m.Name)
    .sort();
}

async function until(pred, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(100);
  }
}

test("join: agent A joins B by its gossip address; both list both", async () => {
  assert.deepEqual(await aliveNames(a), [A]);
  await a.agent.join({ address: process.env.BEACON_B_SERF });
  await until(async () => (await aliveNames(b)).length === 2, 10000);
  assert.deepEqual(await aliveNames(a), [A, B].sort());
  assert.deepEqual(await aliveNames(b), [A, B].sort());
  const m = (await b.agent.members()).find((x) => x.Name === A);
  assert.equal(m.Addr, process.env.BEACON_A_HTTP.split(":")[0]);
});

test("join to a dead address is an error", async () => {
  await assert.rejects(a.agent.join({ address: "127.0.10.99:1" }));
});

test("force-leave of a live member is accepted; the member refutes it and stays", async () => {
  await a.agent.forceLeave({ node: B });
  await sleep(1500);
  assert.deepEqual(await aliveNames(a), [A, B].sort());
});
