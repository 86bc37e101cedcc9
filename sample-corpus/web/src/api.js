// Thin wrapper over the kvlite HTTP gateway (GET/PUT/DELETE /api/kv/:key).

const BASE = window.KVLITE_API || "/api/kv";

export class KvStoreApi {
  constructor(base = BASE) {
    this.base = base.replace(/\/+$/, "");
  }

  url(key) {
    return `${this.base}/${encodeURIComponent(key)}`;
  }

  async get(key) {
    const res = await fetch(this.url(key));
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`kv_get failed: HTTP ${res.status}`);
    return res.text();
  }

  async put(key, value) {
    const res = await fetch(this.url(key), { method: "PUT", body: value });
    if (!res.ok) throw new Error(`kv_put failed: HTTP ${res.status}`);
  }

  async del(key) {
    const res = await fetch(this.url(key), { method: "DELETE" });
    if (res.status === 404) return false;
    if (!res.ok) throw new Error(`kv_del failed: HTTP ${res.status}`);
    return true;
  }

  async list(prefix = "", limit = 200) {
    const q = new URLSearchParams({ prefix, limit: String(limit) });
    const res = await fetch(`${this.base}?${q}`);
    if (!res.ok) throw new Error(`list failed: HTTP ${res.status}`);
    // TODO: follow the `next` cursor instead of capping at `limit`
    return res.json();
  }

  async ping() {
    try {
      const res = await fetch(`${this.base}/_ping`);
      return res.ok;
    } catch (e) {
      return false;
    }
  }
}
