// Every check in the catalog (#/checks), filterable by state (#/checks/critical ...) and text.

import {enc} from './api.js';
import {badge, h, mount, pageHead, panel, table} from './dom.js';

const STATES = ['passing', 'warning', 'critical'];
const ORDER = {critical: 0, warning: 1, passing: 2};

export function renderChecks(page, [state]) {
  const filter = h('input', {type: 'search', placeholder: 'Filter by name, node or service', 'aria-label': 'Filter checks'});
  const tabs = h('div', {class: 'filters', role: 'tablist'});
  const body = h('div', {}, h('div', {class: 'empty'}, 'Loading…'));
  mount(page.root, pageHead('Checks'), h('div', {class: 'toolbar'}, tabs, filter), panel(null, body));
  let checks = null;

  const draw = () => {
    if (!checks) return;
    const counts = {all: checks.length, passing: 0, warning: 0, critical: 0};
    for (const c of checks) if (c.Status in counts) counts[c.Status]++;
    mount(tabs, ['all', ...STATES].map((s) => h('a', {
      href: s === 'all' ? '#/checks' : `#/checks/${s}`,
      class: (state || 'all') === s ? 'active' : '', role: 'tab', dataset: {state: s}},
    s[0].toUpperCase() + s.slice(1), h('span', {class: 'count'}, String(counts[s])))));
    const q = filter.value.trim().toLowerCase();
    const rows = checks
      .filter((c) => !state || c.Status === state)
      .filter((c) => !q || [c.Name, c.CheckID, c.Node, c.ServiceName].some((x) => (x || '').toLowerCase().includes(q)))
      .sort((a, b) => (ORDER[a.Status] ?? 3) - (ORDER[b.Status] ?? 3) || a.Node.localeCompare(b.Node) ||
        a.CheckID.localeCompare(b.CheckID))
      .map((c) => h('tr', {dataset: {check: c.CheckID, status: c.Status}},
        h('td', {}, badge(c.Status)),
        h('td', {class: 'name'}, c.Name || c.CheckID, h('div', {class: 'check-id mono muted'}, c.CheckID)),
        h('td', {}, h('a', {href: `#/nodes/${enc(c.Node)}`}, c.Node)),
        h('td', {}, c.ServiceName ? h('a', {href: `#/services/${enc(c.ServiceName)}`}, c.ServiceName) :
          h('span', {class: 'muted'}, 'node check')),
        h('td', {class: 'hide-narrow'}, c.Output ? h('pre', {class: 'output'}, c.Output) : '')));
    mount(body, table(['Status', 'Check', 'Node', 'Service', {text: 'Output', class: 'hide-narrow'}], rows,
      state ? `No ${state} checks.` : 'No checks registered.'));
  };
  filter.addEventListener('input', draw);
  page.watch('health/state/any', (data) => { checks = data || []; draw(); });
}
