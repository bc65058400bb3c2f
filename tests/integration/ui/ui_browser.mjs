// Beacon's web UI in Debian's headless Chromium, driven by puppeteer-core
// (run by tests/integration/test_ui_browser.py, which starts the agent).
//
// Env: BEACON_HTTP_PORT (the agent), BEACON_NODE (its node name), CHROMIUM (the browser),
// SCREENSHOT_DIR (where the PNGs go). Exits non-zero on the first failed assertion, or when any
// page logged a console error or threw.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const base = `http://127.0.0.1:${process.env.BEACON_HTTP_PORT}`;
const nodeName = process.env.BEACON_NODE;
const shots = process.env.SCREENSHOT_DIR;
fs.mkdirSync(shots, {recursive: true});

const problems = [];
let current = null;  // the page a failure is screenshot from  // console errors, page errors, failed requests: any one fails the test

async function api(method, p, body) {
  const r = await fetch(base + p, {method, body: typeof body === 'string' ? body : body && JSON.stringify(body)});
  const text = await r.text();
  return {status: r.status, text, json: () => JSON.parse(text)};
}

async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  console.log(`screenshot: ${file}`);
}

async function go(page, hash, selector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(selector, {timeout: 15000});
}

const agentChecks = async () => (await api('GET', '/v1/agent/checks')).json();
const text = (page, sel) => page.$eval(sel, (el) => el.textContent);

async function main() {
  const root = process.getuid && process.getuid() === 0;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,  // Chromium's new headless mode (--headless=new)
    args: ['--headless=new', ...(root ? ['--no-sandbox'] : []), '--disable-gpu',
      '--disable-dev-shm-usage', '--no-first-run', '--window-size=1280,900'],
  });
  try {
    const page = await browser.newPage();
    current = page;
    await page.setViewport({width: 1280, height: 900});
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()} (${JSON.stringify(m.location())})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const requested = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('requestfailed', (r) => {
      // Blocking queries the UI cancels when it leaves a page are aborted on purpose.
      if (r.failure() && r.failure().errorText === 'net::ERR_ABORTED' && r.url().includes('/v1/')) return;
      problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`);
    });

    // "/" redirects to the UI, which opens on the services list.
    const resp = await page.goto(base + '/', {waitUntil: 'load'});
    assert.equal(resp.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.waitForSelector('tr[data-service="consul"]', {timeout: 15000});
    assert.equal(await page.title(), 'Beacon');
    assert.ok((await text(page, '.agent')).includes(nodeName), 'the header names the agent node');
    await page.waitForSelector('tr[data-service="db"] .badge.critical');

    // A service registered over the API appears live: no reload (the marker survives).
    await page.evaluate(() => { window.__noReload = true; });
    const reg = await api('PUT', '/v1/agent/service/register', {
      ID: 'web1', Name: 'web', Tags: ['rails', 'v2'], Port: 8080, Meta: {version: '2.1'},
      Check: {CheckID: 'web1-ttl', Name: 'web TTL', TTL: '10m', Status: 'passing', Notes: 'heartbeat from the app'},
    });
    assert.equal(reg.status, 200, reg.text);
    await page.waitForSelector('tr[data-service="web"]', {timeout: 15000});
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was reloaded');
    assert.ok(requested.some((u) => /\/v1\/catalog\/services\?index=[1-9]\d*&wait=/.test(u)),
      'the services list waits in a blocking query');
    await page.waitForFunction(() => {
      const tr = document.querySelector('tr[data-service="web"]');
      return tr && tr.textContent.includes('rails') && tr.querySelector('.badge.passing') && !tr.querySelector('.badge.critical');
    }, {timeout: 15000});
    await shot(page, '01-services');

    // The service page: its instance, the check's status and output.
    await page.click('tr[data-service="web"] a');
    await page.waitForSelector('[data-instance="web1"] li[data-check-id="web1-ttl"] .badge.passing');
    await api('PUT', '/v1/agent/check/warn/web1-ttl?note=' + encodeURIComponent('slow: 900ms p99'));
    await page.waitForFunction(() => {
      const li = document.querySelector('[data-instance="web1"] li[data-check-id="web1-ttl"]');
      return li && li.querySelector('.badge.warning') && li.textContent.includes('slow: 900ms p99');
    }, {timeout: 15000});
    assert.ok((await text(page, '[data-instance="web1"]')).includes('2.1'), 'service meta shown');
    await shot(page, '02-service-web');

    // Service maintenance from the UI shows in /v1/agent/checks, and back.
    await page.click('button[data-maint="web1"]');
    await until('service maintenance check', async () => '_service_maintenance:web1' in await agentChecks());
    const maint = (await agentChecks())['_service_maintenance:web1'];
    assert.equal(maint.Status, 'critical');
    assert.equal(maint.ServiceID, 'web1');
    await page.waitForSelector('[data-instance="web1"] .badge.maintenance', {timeout: 15000});
    await shot(page, '03-service-maintenance');
    await page.click('button[data-maint="web1"]');
    await until('service maintenance lifted', async () => !('_service_maintenance:web1' in await agentChecks()));
    await page.waitForFunction(() => !document.querySelector('[data-instance="web1"] .badge.maintenance'),
      {timeout: 15000});

    // Nodes: the list, this node's page, node maintenance.
    await go(page, '#/nodes', `tr[data-node="${nodeName}"]`);
    await shot(page, '04-nodes');
    await page.click(`tr[data-node="${nodeName}"] a`);
    await page.waitForSelector('tr[data-service="web1"]');
    await page.waitForSelector('#node-maint');
    await page.click('#node-maint');
    await until('node maintenance check', async () => '_node_maintenance' in await agentChecks());
    assert.equal((await agentChecks())._node_maintenance.Status, 'critical');
    await page.waitForSelector('li[data-check-id="_node_maintenance"] .badge.critical', {timeout: 15000});
    await shot(page, '05-node-maintenance');
    await page.waitForFunction(() => document.querySelector('#node-maint').textContent.includes('Disable'));
    await page.click('#node-maint');
    await until('node maintenance lifted', async () => !('_node_maintenance' in await agentChecks()));

    // Checks, filtered by state.
    await go(page, '#/checks', 'tr[data-check="web1-ttl"]');
    await shot(page, '06-checks');
    await go(page, '#/checks/critical', '.filters a.active[data-state="critical"]');
    await page.waitForSelector('tr[data-check="db1-ttl"]');
    const states = await page.$$eval('tbody tr[data-status]', (rows) => rows.map((r) => r.dataset.status));
    assert.ok(states.length > 0 && states.every((s) => s === 'critical'), `critical filter shows ${states}`);
    await go(page, '#/checks/passing', '.filters a.active[data-state="passing"]');
    await page.waitForSelector('tr[data-check="cache1-ttl"]');
    assert.equal(await page.$('tr[data-check="db1-ttl"]'), null, 'a critical check under passing');

    // KV: an empty store first (the API answers 404 for no keys: no error for the UI).
    await go(page, '#/kv/', '.panel .empty');
    assert.ok((await text(page, '.panel .empty')).includes('No keys yet'));
    // Browse folders, edit a key in the UI and read it back through the API.
    assert.equal((await api('PUT', '/v1/kv/app/config/db', 'host=db1 port=5432')).status, 200);
    assert.equal((await api('PUT', '/v1/kv/app/greeting', 'grüß dich, 世界')).status, 200);
    await go(page, '#/kv/', 'tr[data-key="app/"]');
    await shot(page, '07-kv-root');
    await page.click('tr[data-key="app/"] a');
    await page.waitForSelector('tr[data-key="app/config/"]');
    await page.waitForSelector('tr[data-key="app/greeting"]');
    await page.click('tr[data-key="app/greeting"] a');
    await page.waitForFunction(() => document.querySelector('#kv-value') &&
      document.querySelector('#kv-value').value === 'grüß dich, 世界', {timeout: 15000});
    await page.$eval('#kv-value', (t) => { t.value = ''; });
    await page.type('#kv-value', 'edited in the UI: ünïcödé ✓');
    await page.click('#kv-save');
    await until('the UI edit through the API',
      async () => (await api('GET', '/v1/kv/app/greeting?raw')).text === 'edited in the UI: ünïcödé ✓');
    await shot(page, '08-kv-edit');

    // Create a key and a folder from the folder page, then delete the key.
    await go(page, '#/kv/app/', 'tr[data-key="app/greeting"]');
    await page.click('#kv-create');
    await page.type('#kv-new-key', 'created');
    await page.type('#kv-new-value', 'made by the browser');
    await page.click('#kv-new-save');
    await until('the created key through the API',
      async () => (await api('GET', '/v1/kv/app/created?raw')).text === 'made by the browser');
    await page.waitForSelector('tr[data-key="app/created"]', {timeout: 15000});
    await page.click('#kv-create');
    await page.type('#kv-new-key', 'folder/');
    await page.click('#kv-new-save');
    await until('the created folder', async () => (await api('GET', '/v1/kv/app/folder/')).status === 200);
    // The UI opens the new (empty) folder; its breadcrumb leads back.
    await page.waitForFunction(() => location.hash === '#/kv/app/folder/' &&
      document.querySelector('.page-head h1').textContent === 'folder', {timeout: 15000});
    await page.click('.crumbs a[href="#/kv/app/"]');
    await page.waitForSelector('tr[data-key="app/folder/"]');
    page.once('dialog', (d) => d.accept());
    await page.click('tr[data-key="app/created"] button[data-del="app/created"]');
    await until('the deleted key gone', async () => (await api('GET', '/v1/kv/app/created')).status === 404);
    await page.waitForFunction(() => !document.querySelector('tr[data-key="app/created"]'), {timeout: 15000});
    await shot(page, '09-kv-folder');

    // A deep link opens straight on its page.
    const deep = await browser.newPage();
    deep.on('console', (m) => { if (m.type() === 'error') problems.push(`console error (deep link): ${m.text()}`); });
    deep.on('pageerror', (e) => problems.push(`page error (deep link): ${e.message}`));
    await deep.setViewport({width: 420, height: 900});  // a phone-sized window
    await deep.goto(base + '/ui/#/services/web', {waitUntil: 'load'});
    await deep.waitForSelector('[data-instance="web1"]', {timeout: 15000});
    await shot(deep, '10-narrow-service');
    // Any path under /ui/ loads the app (absolute asset URLs); an unknown route says so.
    await deep.goto(base + '/ui/some/old/link#/checks/critical', {waitUntil: 'load'});
    await deep.waitForSelector('tr[data-check="db1-ttl"]', {timeout: 15000});
    await deep.goto(base + '/ui/#/no-such-page', {waitUntil: 'load'});
    await deep.waitForFunction(() => document.querySelector('#view').textContent.includes('No such page'),
      {timeout: 15000});
    await deep.close();
  } catch (e) {
    if (current) await shot(current, 'failure').catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], 'the pages logged errors');
  console.log('ui browser test: ok');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (problems.length) console.error('page problems:\n  ' + problems.join('\n  '));
  process.exit(1);
});
