/*
 * notice.js - "the server is down or restarting": the notice under the
 * header, a /healthz poll while it shows, and recovery.
 *
 * Any module that gets ServerDown from the API calls serverTrouble(); one
 * poll runs however many did (back-off from 0.5 s to 3 s, "Retry now"
 * restarts it).  The notice says what /healthz says: workers restarting
 * (503 degraded, naming the shards) or no answer at all.  When /healthz
 * answers 200 the notice goes and the recovery hook runs, which the entry
 * module sets to re-route the address (the search and the file view are
 * read again): this module knows nothing of the views above it.
 */

import { getHealth } from './api.js';
import { ui, show } from './dom.js';

const DOWN = 'Cannot reach the shardgrep server: it is down or restarting. Retrying…';
const health = { polling: false, timer: 0, delay: 500 };
let onRecovered = () => {};

export function whenRecovered(fn) { onRecovered = fn; }

export function serverTrouble(text = DOWN) {
  ui.noticeText.textContent = text;
  show(ui.notice, true);
  document.body.classList.add('offline');
  if (!health.polling) {
    health.polling = true;
    health.delay = 500;
    health.timer = setTimeout(pollHealth, health.delay);
  }
}

function pollHealth() {
  health.timer = 0;
  getHealth().then((res) => {
    if (res.status === 200) return recovered();
    const d = res.data || {};
    if (res.status === 503 && d.status === 'degraded') {
      const down = Array.isArray(d.down) ? d.down.join(', ') : '?';
      ui.noticeText.textContent = 'Some search workers are restarting (shard ' + down +
        ' down, ' + (d.shards_up | 0) + ' of ' + (d.shards_total | 0) + ' up). Waiting for them…';
    } else {
      ui.noticeText.textContent = 'The shardgrep server is not answering (HTTP ' + res.status + '). Retrying…';
    }
    again();
  }, () => {
    ui.noticeText.textContent = DOWN;
    again();
  });
  function again() {
    health.delay = Math.min(health.delay * 1.5, 3000);
    health.timer = setTimeout(pollHealth, health.delay);
  }
}

export function retryNow() {
  if (health.timer) clearTimeout(health.timer);
  health.delay = 500;
  pollHealth();
}

function recovered() {
  health.polling = false;
  show(ui.notice, false);
  document.body.classList.remove('offline');
  onRecovered();
}
