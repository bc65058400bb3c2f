// The Consul HTTP API, as the UI uses it: JSON reads (optionally blocking), writes, KV values.

export class ApiError extends Error {
  constructor(status, text, path) {
    super(`${status} ${text.trim() || 'error'} (${path})`);
    this.status = status;
  }
}

// GET path; with {index, wait} a blocking query (spec: ?index=&wait=). Resolves to
// {data, index} where index is X-Consul-Index (0 when absent). With missingOk a 404 (a KV key
// or prefix that does not exist) resolves to {data: null, index}.
export async function get(path, {index = 0, wait = '', signal, missingOk = false} = {}) {
  let url = '/v1/' + path;
  if (index > 0) {
    url += (url.includes('?') ? '&' : '?') + `index=${index}` + (wait ? `&wait=${wait}` : '');
  }
  const r = await fetch(url, {signal, headers: {Accept: 'application/json'}});
  if (missingOk && r.status === 404) {
    return {data: null, index: Number(r.headers.get('X-Consul-Index') || 0)};
  }
  if (!r.ok) throw new ApiError(r.status, await r.text(), path);
  const idx = Number(r.headers.get('X-Consul-Index') || 0);
  const text = await r.text();
  return {data: text ? JSON.parse(text) : null, index: idx};
}

async function send(method, path, body) {
  const r = await fetch('/v1/' + path, {method, body});
  const text = await r.text();
  if (!r.ok) throw new ApiError(r.status, text, path);
  return text ? JSON.parse(text) : null;
}

export const put = (path, body) => send('PUT', path, body);
export const del = (path) => send('DELETE', path);

// Path segments of catalog names and KV keys, escaped for a URL.
export function enc(name) {
  return encodeURIComponent(name);
}
export function encKey(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

// A KV value (base64 in the API) as UTF-8 text; bytes that are not UTF-8 become U+FFFD.
export function decodeValue(b64) {
  if (!b64) return '';
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder('utf-8').decode(bytes);
}

let selfPromise = null;
// /v1/agent/self, once per page load: the local node's name and datacenter.
export function agentSelf() {
  if (!selfPromise) {
    selfPromise = get('agent/self').then((r) => ({
      node: (r.data.Config && r.data.Config.NodeName) || (r.data.Member && r.data.Member.Name) || '',
      datacenter: (r.data.Config && r.data.Config.Datacenter) || '',
      version: (r.data.Config && r.data.Config.Version) || '',
    }));
  }
  return selfPromise;
}
