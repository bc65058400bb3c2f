// Live data through blocking queries: a Watch keeps one GET open (?index=<last X-Consul-Index>
// &wait=) and calls onData whenever the index moves. Stopped when its page is left.

import {get} from './api.js';

const WAIT = '60s';
let openWatches = 0;
let failing = 0;

function indicator() {
  const el = document.getElementById('live');
  if (!el) return;
  el.classList.toggle('on', openWatches > 0 && failing === 0);
  el.classList.toggle('off', failing > 0);
  el.title = failing > 0 ? 'Lost contact with the agent; retrying' :
    'Live updates through blocking queries';
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
});

export class Watch {
  constructor(path, onData, onError, {missingOk = false} = {}) {
    this.path = path;
    this.missingOk = missingOk;
    this.onData = onData;
    this.onError = onError || (() => {});
    this.ctrl = new AbortController();
    this.run();
  }

  async run() {
    const signal = this.ctrl.signal;
    let index = 0;
    let delay = 500;
    let bad = false;
    openWatches++;
    indicator();
    while (!signal.aborted) {
      try {
        const r = await get(this.path, {index, wait: WAIT, signal, missingOk: this.missingOk});
        if (bad) { bad = false; failing--; indicator(); }
        delay = 500;
        if (index === 0 || r.index !== index) {
          // An index that went backwards (agent restarted) is taken as is: the next query
          // blocks from there.
          index = r.index > 0 ? r.index : 0;
          this.onData(r.data);
        }
        if (index === 0) await sleep(5000, signal);  // an endpoint without an index: poll
      } catch (e) {
        if (signal.aborted) break;
        if (!bad) { bad = true; failing++; indicator(); }
        this.onError(e);
        index = 0;
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 10000);
      }
    }
    if (bad) failing--;
    openWatches--;
    indicator();
  }

  stop() {
    this.ctrl.abort();
  }
}
