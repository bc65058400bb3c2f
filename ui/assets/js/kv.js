// The KV browser and editor: #/kv/<prefix>/ lists a folder (keys and sub-folders, separator
// '/'), #/kv/<key> edits one key. Values are shown as UTF-8 text (base64-decoded).

import {decodeValue, del, encKey, put} from './api.js';
import {h, mount, pageHead, panel, table, toast} from './dom.js';

function crumbs(path) {
  const parts = path.split('/').filter((p) => p !== '');
  const out = [['Key/Value', '#/kv/']];
  let acc = '';
  parts.forEach((p, i) => {
    acc += p + '/';
    const last = i === parts.length - 1;
    out.push([p, last ? null : `#/kv/${encKey(acc)}`]);
  });
  return out;
}

export function renderKv(page, [path]) {
  if (path === '' || path.endsWith('/')) renderFolder(page, path);
  else renderKey(page, path);
}

function renderFolder(page, prefix) {
  const title = prefix === '' ? 'Key/Value' : prefix.split('/').slice(-2)[0];
  const createBtn = h('button', {class: 'primary', id: 'kv-create'}, 'Create');
  const form = h('div', {});
  const body = h('div', {}, h('div', {class: 'empty'}, 'Loading…'));
  mount(page.root, pageHead(title, prefix ? crumbs(prefix) : null, createBtn), form, panel(null, body));

  createBtn.addEventListener('click', () => {
    if (form.firstChild) { mount(form); return; }
    const name = h('input', {type: 'text', id: 'kv-new-key', placeholder: 'key, or folder/ to create a folder', autocomplete: 'off'});
    const value = h('textarea', {id: 'kv-new-value', placeholder: 'value (UTF-8 text)'});
    const save = h('button', {class: 'primary', id: 'kv-new-save'}, 'Save');
    name.addEventListener('input', () => { value.disabled = name.value.endsWith('/'); });
    save.addEventListener('click', async () => {
      const n = name.value.trim();
      if (!n) { page.error('Enter a key name.'); return; }
      const key = prefix + n;
      save.disabled = true;
      try {
        await put(`kv/${encKey(key)}`, n.endsWith('/') ? '' : value.value);
        toast(`Saved ${key}`);
        location.hash = `#/kv/${encKey(n.endsWith('/') ? key : prefix)}`;
        mount(form);
      } catch (e) {
        page.error(e);
        save.disabled = false;
      }
    });
    mount(form, panel(`New key in ${prefix || '/'}`, h('div', {class: 'body'},
      h('div', {class: 'form-row'}, h('label', {for: 'kv-new-key'}, 'Key'), h('span', {class: 'mono muted'}, prefix), name),
      value,
      h('div', {class: 'form-row'}, save,
        h('button', {onclick: () => mount(form)}, 'Cancel')))));
    name.focus();
  });

  page.watch(`kv/${encKey(prefix)}?keys&separator=/`, (keys) => {
    keys = (keys || []).filter((k) => k !== prefix).sort();
    const rows = keys.map((k) => {
      const name = k.slice(prefix.length);
      const folder = k.endsWith('/');
      const remove = h('button', {class: 'danger', dataset: {del: k}}, 'Delete');
      remove.addEventListener('click', async () => {
        if (!confirm(folder ? `Delete folder ${k} and every key under it?` : `Delete ${k}?`)) return;
        try {
          await del(`kv/${encKey(k)}${folder ? '?recurse' : ''}`);
          toast(`Deleted ${k}`);
        } catch (e) {
          page.error(e);
        }
      });
      return h('tr', {dataset: {key: k}},
        h('td', {class: 'name'}, h('span', {class: 'kv-icon', 'aria-hidden': 'true'}, folder ? '▸' : '·'),
          h('a', {href: `#/kv/${encKey(k)}`}, name)),
        h('td', {class: 'muted'}, folder ? 'folder' : 'key'),
        h('td', {class: 'num'}, remove));
    });
    mount(body, table(['Name', 'Kind', {text: '', class: 'num'}], rows,
      prefix ? 'This folder is empty.' : 'No keys yet. Create one.'));
  }, {missingOk: true});
}

function renderKey(page, key) {
  const folder = key.slice(0, key.lastIndexOf('/') + 1);
  const text = h('textarea', {id: 'kv-value', spellcheck: 'false', 'aria-label': 'Value'});
  const save = h('button', {class: 'primary', id: 'kv-save'}, 'Save');
  const remove = h('button', {class: 'danger', id: 'kv-delete'}, 'Delete');
  const notice = h('div', {});
  const meta = h('div', {});
  const editor = h('div', {});
  mount(page.root, pageHead(key.split('/').pop(), crumbs(key), save, remove), notice, editor, meta);
  let dirty = false;
  let shown = null;  // the value last shown (from the server)
  text.addEventListener('input', () => { dirty = text.value !== shown; });

  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await put(`kv/${encKey(key)}`, text.value);
      dirty = false;
      shown = text.value;
      mount(notice);
      toast(`Saved ${key}`);
    } catch (e) {
      page.error(e);
    }
    save.disabled = false;
  });
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete ${key}?`)) return;
    try {
      await del(`kv/${encKey(key)}`);
      toast(`Deleted ${key}`);
      location.hash = `#/kv/${encKey(folder)}`;
    } catch (e) {
      page.error(e);
    }
  });

  page.watch(`kv/${encKey(key)}`, (entries) => {
    const e = entries && entries[0];
    if (!e) {
      mount(editor, panel('Value', h('div', {class: 'body'},
        h('p', {class: 'muted'}, 'This key does not exist (yet). Saving creates it.'), text)));
      mount(meta);
      return;
    }
    const value = decodeValue(e.Value);
    if (!dirty) {
      text.value = value;
      shown = value;
    } else if (value !== shown) {
      mount(notice, h('div', {class: 'notice'}, 'This key changed on the server while you were editing; saving overwrites it.'));
    }
    if (!editor.firstChild || !editor.contains(text) || editor.querySelector('.muted')) {
      mount(editor, panel('Value', h('div', {class: 'body'}, text)));
    }
    mount(meta, panel('Details', h('div', {class: 'body'}, h('dl', {class: 'meta'},
      h('dt', {}, 'Flags'), h('dd', {}, String(e.Flags)),
      h('dt', {}, 'Create index'), h('dd', {}, String(e.CreateIndex)),
      h('dt', {}, 'Modify index'), h('dd', {}, String(e.ModifyIndex)),
      h('dt', {}, 'Lock index'), h('dd', {}, String(e.LockIndex)),
      e.Session ? [h('dt', {}, 'Session'), h('dd', {class: 'mono'}, e.Session)] : null))));
  }, {missingOk: true});
}
