// Nodes: the list with each node's health (#/nodes), and one node's services and checks
// (#/nodes/<name>) with the node maintenance toggle when it is this agent's node.

import {agentSelf, enc, put} from './api.js';
import {badge, checkList, countStatuses, h, mount, pageHead, panel, summary, table, tags, toast,
  worst} from './dom.js';

export function renderNodes(page) {
  const filter = h('input', {type: 'search', placeholder: 'Filter by name or address', 'aria-label': 'Filter nodes'});
  const body = h('div', {}, h('div', {class: 'empty'}, 'Loading…'));
  mount(page.root, pageHead('Nodes'), h('div', {class: 'toolbar'}, filter), panel(null, body));
  let nodes = null;
  let checks = [];
  const draw = () => {
    if (!nodes) return;
    const q = filter.value.trim().toLowerCase();
    const byNode = new Map();
    for (const c of checks) {
      if (!byNode.has(c.Node)) byNode.set(c.Node, []);
      byNode.get(c.Node).push(c);
    }
    const rows = nodes.filter((n) => !q || n.Node.toLowerCase().includes(q) || n.Address.includes(q))
      .map((n) => {
        const mine = byNode.get(n.Node) || [];
        const counts = countStatuses(mine);
        const status = mine.length ? worst(mine.map((c) => c.Status)) : 'none';
        return h('tr', {dataset: {node: n.Node}},
          h('td', {class: 'name'}, h('span', {class: `dot ${status}`}),
            h('a', {href: `#/nodes/${enc(n.Node)}`}, n.Node)),
          h('td', {class: 'mono'}, n.Address),
          h('td', {}, summary(counts)),
          h('td', {class: 'hide-narrow'}, Object.entries(n.Meta || {}).map(([k, v]) => h('span', {class: 'tag'}, `${k}=${v}`))));
      });
    mount(body, table(['Node', 'Address', 'Health checks', {text: 'Meta', class: 'hide-narrow'}], rows,
      q ? 'No node matches the filter.' : 'No nodes.'));
  };
  filter.addEventListener('input', draw);
  page.watch('catalog/nodes', (data) => { nodes = data || []; draw(); });
  page.watch('health/state/any', (data) => { checks = data || []; draw(); });
}

export function renderNode(page, [name]) {
  const head = h('div', {});
  const info = h('div', {});
  const svc = h('div', {});
  const chk = h('div', {});
  mount(page.root, head, info, svc, chk);
  let node = undefined;  // /v1/catalog/node/<name>: {Node, Services} or null
  let checks = null;
  let self = {node: ''};

  const draw = () => {
    if (node === undefined || checks === null) return;
    const maint = checks.some((c) => c.CheckID === '_node_maintenance');
    const local = self.node === name;
    mount(head, pageHead(name, [['Nodes', '#/nodes'], [name]],
      node ? badge(worst(checks.map((c) => c.Status))) : null,
      maint ? badge('maintenance', 'in maintenance') : null,
      node && local ? maintenanceButton(page, maint) : null));
    if (!node) {
      mount(info, panel(null, h('div', {class: 'empty'}, `Node ${name} is not in the catalog.`)));
      mount(svc);
      mount(chk);
      return;
    }
    const n = node.Node;
    const tagged = Object.entries(n.TaggedAddresses || {});
    mount(info, panel('Node', h('div', {class: 'body'}, h('dl', {class: 'meta'},
      h('dt', {}, 'Address'), h('dd', {class: 'mono'}, n.Address),
      h('dt', {}, 'Datacenter'), h('dd', {}, n.Datacenter || ''),
      tagged.length ? [h('dt', {}, 'Tagged addresses'),
        h('dd', {}, tagged.map(([k, v]) => h('span', {class: 'tag'}, `${k}=${v}`)))] : null,
      Object.entries(n.Meta || {}).map(([k, v]) => [h('dt', {}, k), h('dd', {class: 'mono'}, v)])))));
    const services = Object.values(node.Services || {}).sort((a, b) => a.ID.localeCompare(b.ID));
    mount(svc, panel(`Services (${services.length})`, table(
      ['Service', 'ID', 'Port', 'Health', {text: 'Tags', class: 'hide-narrow'}],
      services.map((s) => {
        const mine = checks.filter((c) => c.ServiceID === s.ID || c.ServiceID === '');
        return h('tr', {dataset: {service: s.ID}},
          h('td', {class: 'name'}, h('a', {href: `#/services/${enc(s.Service)}`}, s.Service)),
          h('td', {class: 'mono'}, s.ID),
          h('td', {class: 'mono'}, s.Port ? String(s.Port) : ''),
          h('td', {}, summary(countStatuses(mine))),
          h('td', {class: 'hide-narrow'}, tags(s.Tags)));
      }), 'No services on this node.')));
    mount(chk, panel(`Checks (${checks.length})`, h('div', {class: 'body'}, checkList(checks))));
  };

  agentSelf().then((s) => { self = s; draw(); }, () => {});
  page.watch(`catalog/node/${enc(name)}`, (data) => { node = data; draw(); });
  page.watch(`health/node/${enc(name)}`, (data) => { checks = data || []; draw(); });
}

function maintenanceButton(page, on) {
  const btn = h('button', {class: on ? 'maint-on' : '', id: 'node-maint'},
    on ? 'Disable node maintenance' : 'Enable node maintenance');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const reason = encodeURIComponent('Set from the Beacon web UI');
      await put(`agent/maintenance?enable=${!on}&reason=${reason}`);
      toast(on ? 'Node maintenance off' : 'Node maintenance on');
    } catch (e) {
      page.error(e);
      btn.disabled = false;
    }
  });
  return btn;
}
