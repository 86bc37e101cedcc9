import { el, formatSize, render } from "../../render.js";

// Renders the list of keys returned by KvStoreApi.list() as a table.
export class KeyTable {
  constructor(root, api, onSelect) {
    this.root = root;
    this.api = api;
    this.onSelect = onSelect;
    this.rows = [];
    this.sortBy = "key";
  }

  async load(prefix) {
    const page = await this.api.list(prefix);
    this.rows = page.items || [];
    this.render();
    return this.rows.length;
  }

  sort(column) {
    this.sortBy = column;
    this.render();
  }

  sortedRows() {
    const rows = this.rows.slice();
    if (this.sortBy === "size") rows.sort((a, b) => b.size - a.size);
    else rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return rows;
  }

  render() {
    const head = el("tr", {},
      el("th", { onclick: () => this.sort("key") }, "key"),
      el("th", { onclick: () => this.sort("size") }, "size"),
      el("th", {}, ""));
    const body = this.sortedRows().map((row) =>
      el("tr", {},
        el("td", { onclick: () => this.onSelect(row.key) }, row.key),
        el("td", { class: "kv-size" }, formatSize(row.size)),
        el("td", {}, el("button", { onclick: () => this.remove(row.key) }, "delete"))));
    // FIXME: re-rendering the whole table on every sort is slow past ~5k rows
    render(this.root, el("table", { class: "kv-table" }, head, ...body));
  }

  async remove(key) {
    if (!confirm(`Delete ${key}?`)) return;
    await this.api.del(key);
    this.rows = this.rows.filter((r) => r.key !== key);
    this.render();
  }
}
