// Entry point: hash routing (#/services, #/services/<name>, #/nodes, #/nodes/<name>,
// #/checks[/<state>], #/kv/<prefix or key>), the page lifecycle and the header.

import {agentSelf} from './api.js';
import {errorBox, h, mount} from './dom.js';
import {Watch} from './live.js';
import {renderServices, renderService} from './services.js';
import {renderNodes, renderNode} from './nodes.js';
import {renderChecks} from './checks.js';
import {renderKv} from './kv.js';

const ROUTES = [
  [/^\/services\/?$/, 'services', () => renderServices],
  [/^\/services\/(.+)$/, 'services', () => renderService],
  [/^\/nodes\/?$/, 'nodes', () => renderNodes],
  [/^\/nodes\/(.+)$/, 'nodes', () => renderNode],
  [/^\/checks(?:\/(passing|warning|critical))?\/?$/, 'checks', () => renderChecks],
  [/^\/kv(?:\/(.*))?$/, 'kv', () => renderKv],
];

// One page: what it opened (watches, timers) is closed when the route changes.
class Page {
  constructor(root) {
    this.root = root;
    this.watches = [];
    this.closed = false;
  }
  watch(path, onData, opts) {
    const w = new Watch(path, (d) => { if (!this.closed) { this.clearError(); onData(d); } },
      (e) => { if (!this.closed) this.error(e); }, opts);
    this.watches.push(w);
    return w;
  }
  // Shows an error above the page's content (replaced by the next one).
  error(e) {
    let box = this.root.querySelector(':scope > .error-box');
    const fresh = errorBox(e);
    if (box) box.replaceWith(fresh);
    else this.root.prepend(fresh);
  }
  clearError() {
    const box = this.root.querySelector(':scope > .error-box');
    if (box) box.remove();
  }
  close() {
    this.closed = true;
    for (const w of this.watches) w.stop();
  }
}

let current = null;

function route() {
  let path = location.hash.replace(/^#/, '');
  try {
    path = decodeURIComponent(path);
  } catch (e) {
    // a malformed %-escape: matched as typed
  }
  path = path || '/services';
  if (!location.hash) {
    history.replaceState(null, '', '#/services');
  }
  const root = document.getElementById('view');
  if (current) current.close();
  current = new Page(root);
  for (const [re, tab, fn] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.tab === tab);
    }
    mount(root, h('p', {class: 'muted'}, 'Loading…'));
    try {
      fn()(current, m.slice(1).map((x) => x ?? ''));
    } catch (e) {
      mount(root, errorBox(e));
    }
    window.scrollTo(0, 0);
    return;
  }
  mount(root, h('div', {class: 'empty'}, 'No such page. ', h('a', {href: '#/services'}, 'Back to services')));
}

async function header() {
  try {
    const self = await agentSelf();
    const info = document.getElementById('agent-info');
    info.prepend(
      h('span', {}, 'datacenter ', h('b', {}, self.datacenter)),
      h('span', {}, 'node ', h('a', {href: `#/nodes/${encodeURIComponent(self.node)}`},
        h('b', {}, self.node))));
  } catch (e) {
    // The pages show their own errors; the header just stays short.
  }
}

window.addEventListener('hashchange', route);
route();
header();
