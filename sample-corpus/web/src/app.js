import { KvStoreApi } from "./api.js";
import { renderError, renderStatus, renderValue } from "./render.js";
import { KeyTable } from "./components/table/KeyTable.js";

const api = new KvStoreApi();
const $ = (id) => document.getElementById(id);

const table = new KeyTable($("key-table"), api, (key) => {
  $("get-key").value = key;
  lookup(key);
});

async function lookup(key) {
  try {
    renderValue($("get-result"), await api.get(key));
  } catch (err) {
    renderError($("get-result"), err);
  }
}

async function refresh() {
  const n = await table.load($("key-filter").value);
  $("key-count").textContent = `(${n})`;
}

function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

$("get-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  lookup($("get-key").value);
});

$("put-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api.put($("put-key").value, $("put-value").value);
    await refresh();
  } catch (err) {
    renderError($("get-result"), err);
  }
});

$("key-filter").addEventListener("input", debounce(refresh, 200));

async function heartbeat() {
  renderStatus($("server-status"), await api.ping());
}

heartbeat();
setInterval(heartbeat, 5000);
refresh().catch((err) => renderError($("get-result"), err));
