// DOM helpers: elements are built with textContent only (no innerHTML), so catalog data can
// never inject markup.

// h('a', {href: '#/x', class: 'name'}, 'text', child, [more, children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replaces el's children.
export function mount(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

const ORDER = {critical: 3, warning: 2, passing: 1};

// The worst of a list of statuses ('passing' when empty).
export function worst(statuses) {
  let w = 'passing';
  for (const s of statuses) if ((ORDER[s] || 0) > ORDER[w]) w = s;
  return w;
}

export function badge(status, text) {
  return h('span', {class: `badge ${status}`}, text ?? status);
}

// {passing, warning, critical} counts -> badges (only the non-zero ones; "no checks" when none).
export function summary(counts) {
  const out = [];
  for (const s of ['passing', 'warning', 'critical']) {
    if (counts[s]) out.push(badge(s, `${counts[s]} ${s}`));
  }
  if (out.length === 0) out.push(badge('none', 'no checks'));
  return h('div', {class: 'summary'}, out);
}

export function countStatuses(checks) {
  const c = {passing: 0, warning: 0, critical: 0};
  for (const ch of checks) if (ch.Status in c) c[ch.Status]++;
  return c;
}

export function tags(list) {
  return (list || []).map((t) => h('span', {class: 'tag'}, t));
}

export function table(headers, rows, emptyText) {
  if (rows.length === 0) return h('div', {class: 'empty'}, emptyText || 'Nothing here yet.');
  return h('div', {class: 'table-wrap'},
    h('table', {},
      h('thead', {}, h('tr', {}, headers.map((x) =>
        typeof x === 'string' ? h('th', {}, x) : h('th', {class: x.class}, x.text)))),
      h('tbody', {}, rows)));
}

export function panel(title, ...body) {
  return h('section', {class: 'panel'}, title ? h('h2', {}, title) : null, body);
}

export function pageHead(title, crumbs, ...actions) {
  return [
    crumbs ? h('div', {class: 'crumbs'}, crumbs.map(([text, href]) =>
      h('span', {}, href ? h('a', {href}, text) : text))) : null,
    h('div', {class: 'page-head'}, h('h1', {}, title), h('div', {class: 'spacer'}), actions),
  ];
}

export function errorBox(err) {
  return h('div', {class: 'error-box', role: 'alert'}, String(err && err.message ? err.message : err));
}

let toastTimer = 0;
export function toast(text) {
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div', {id: 'toast', class: 'toast', role: 'status'});
    document.body.append(el);
  }
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 2500);
}

// Checks list with status, name, id, notes and output (service instance and node pages).
export function checkList(checks) {
  if (checks.length === 0) return h('span', {class: 'muted'}, 'no checks');
  return h('ul', {class: 'checks'}, checks.map((c) => h('li', {dataset: {checkId: c.CheckID}},
    h('div', {class: 'check-head'},
      badge(c.Status),
      h('span', {class: 'check-name'}, c.Name || c.CheckID),
      h('span', {class: 'check-id'}, c.CheckID),
      c.Type ? h('span', {class: 'tag'}, c.Type) : null),
    c.Notes ? h('div', {class: 'muted'}, c.Notes) : null,
    c.Output ? h('pre', {class: 'output'}, c.Output) : null)));
}
