// DOM helpers. Everything that shows server data goes through text(),
// never innerHTML, because keys and values are arbitrary bytes.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    node.append(c instanceof Node ? c : text(c));
  }
  return node;
}

export function text(s) {
  return document.createTextNode(String(s));
}

export function renderStatus(node, ok) {
  node.className = "status " + (ok ? "status--ok" : "status--down");
  node.textContent = ok ? "online" : "offline";
}

export function renderValue(node, value) {
  if (value === null) {
    node.textContent = "(nil)";
    return;
  }
  node.textContent = value;
}

export function renderError(node, err) {
  node.textContent = "error: " + (err && err.message ? err.message : err);
  node.classList.add("result--error");
}

export function formatSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

export function render(root, node) {
  root.replaceChildren(node);
}
