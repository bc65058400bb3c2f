// Services: the list with health summaries and tags (#/services), and one service's instances
// with every check's status and output (#/services/<name>), with maintenance toggles for the
// instances this agent owns.

import {agentSelf, enc, get, put} from './api.js';
import {badge, checkList, countStatuses, h, mount, pageHead, panel, summary, table, tags, toast,
  worst} from './dom.js';

const DETAIL_LIMIT = 200;  // beyond this many services, the list counts service checks only

// Runs fn over items, at most `limit` at a time.
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return out;
}

export function renderServices(page) {
  const filter = h('input', {type: 'search', placeholder: 'Filter by name or tag', 'aria-label': 'Filter services'});
  const body = h('div', {}, h('div', {class: 'empty'}, 'Loading…'));
  mount(page.root, pageHead('Services'), h('div', {class: 'toolbar'}, filter),
    panel(null, body));

  let services = null;  // name -> tags
  let checks = [];      // /v1/health/state/any
  let details = {};     // name -> {instances, counts}

  const draw = () => {
    if (!services) return;
    const q = filter.value.trim().toLowerCase();
    const names = Object.keys(services).sort().filter((n) => !q || n.toLowerCase().includes(q) ||
      services[n].some((t) => t.toLowerCase().includes(q)));
    const rows = names.map((name) => {
      const d = details[name];
      const counts = d ? d.counts : countStatuses(checks.filter((c) => c.ServiceName === name));
      const status = counts.critical ? 'critical' : counts.warning ? 'warning' : counts.passing ? 'passing' : 'none';
      return h('tr', {dataset: {service: name}},
        h('td', {class: 'name'}, h('span', {class: `dot ${status}`}),
          h('a', {href: `#/services/${enc(name)}`}, name)),
        h('td', {}, summary(counts)),
        h('td', {class: 'num'}, d ? String(d.instances) : '—'),
        h('td', {class: 'hide-narrow'}, tags(services[name])));
    });
    mount(body, table(['Service', 'Health checks', {text: 'Instances', class: 'num'},
      {text: 'Tags', class: 'hide-narrow'}], rows,
    q ? 'No service matches the filter.' : 'No services registered.'));
  };

  // Instance counts and health (node checks included) per service, refreshed after every change:
  // one round of requests at a time; changes during a round start one more round after it.
  let running = false;
  let again = false;
  const refresh = async () => {
    if (running) { again = true; return; }
    running = true;
    do {
      again = false;
      const names = Object.keys(services || {});
      if (names.length > DETAIL_LIMIT) {
        details = {};
        break;
      }
      try {
        const results = await pool(names, 6, async (n) => {
          const r = await get(`health/service/${enc(n)}`);
          const all = (r.data || []).flatMap((e) => e.Checks || []);
          return [n, {instances: (r.data || []).length, counts: countStatuses(all)}];
        });
        details = Object.fromEntries(results);
      } catch (e) {
        if (!page.closed) page.error(e);
      }
    } while (again && !page.closed);
    running = false;
    if (!page.closed) draw();
  };

  filter.addEventListener('input', draw);
  page.watch('catalog/services', (data) => { services = data || {}; draw(); refresh(); });
  page.watch('health/state/any', (data) => { checks = data || []; draw(); if (services) refresh(); });
}

function maintenanceButton(page, id, on) {
  const btn = h('button', {class: on ? 'maint-on' : '', dataset: {maint: id}},
    on ? 'Disable maintenance' : 'Enable maintenance');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const reason = encodeURIComponent('Set from the Beacon web UI');
      await put(`agent/service/maintenance/${enc(id)}?enable=${!on}&reason=${reason}`);
      toast(on ? `Maintenance off for ${id}` : `Maintenance on for ${id}`);
    } catch (e) {
      page.error(e);
      btn.disabled = false;
    }
  });
  return btn;
}

export function renderService(page, [name]) {
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  const head = h('div', {});
  mount(page.root, head, body);
  mount(head, pageHead(name, [['Services', '#/services'], [name]]));

  agentSelf().catch(() => ({node: ''})).then((self) => {
    page.watch(`health/service/${enc(name)}`, (entries) => {
      entries = entries || [];
      const all = entries.flatMap((e) => e.Checks || []);
      mount(head, pageHead(name, [['Services', '#/services'], [name]],
        entries.length ? badge(worst(all.map((c) => c.Status))) : null,
        h('span', {class: 'muted'}, `${entries.length} instance${entries.length === 1 ? '' : 's'}`)));
      if (entries.length === 0) {
        mount(body, panel(null, h('div', {class: 'empty'}, `No instances of ${name} are registered.`)));
        return;
      }
      mount(body, entries.map((e) => instancePanel(page, e, self)));
    });
  });
}

function instancePanel(page, e, self) {
  const s = e.Service;
  const checks = e.Checks || [];
  const addr = (s.Address || e.Node.Address) + (s.Port ? `:${s.Port}` : '');
  const maint = checks.some((c) => c.CheckID === `_service_maintenance:${s.ID}`);
  const local = self.node && e.Node.Node === self.node;
  const meta = Object.entries(s.Meta || {});
  return h('section', {class: 'panel', dataset: {instance: s.ID}},
    h('h2', {},
      badge(worst(checks.map((c) => c.Status))),
      h('span', {class: 'mono'}, s.ID),
      h('span', {class: 'muted'}, 'on'),
      h('a', {href: `#/nodes/${enc(e.Node.Node)}`}, e.Node.Node),
      h('span', {class: 'muted mono'}, addr),
      h('span', {class: 'spacer'}),
      maint ? badge('maintenance', 'in maintenance') : null,
      local ? maintenanceButton(page, s.ID, maint) : null),
    h('div', {class: 'body'},
      (s.Tags || []).length || meta.length ? h('dl', {class: 'meta'},
        (s.Tags || []).length ? [h('dt', {}, 'Tags'), h('dd', {}, tags(s.Tags))] : null,
        meta.map(([k, v]) => [h('dt', {}, k), h('dd', {class: 'mono'}, v)])) : null,
      h('div', {class: 'instance-checks'}, checkList(checks))));
}
