/*
 * links.js - "open in my editor" and "on the code host" (--editor-url,
 * --link-url): the links the server made for a result or a file.
 *
 * The page never builds these URLs: a result carries its own (editor_url,
 * link_url), and a file view carries one per kind with "{line}" left in
 * (doc/api.md), which fillLine() replaces by a line number, the only
 * thing the page puts in.  Whatever the server sent, an address whose
 * scheme would run in the page or read the disk (javascript:, data:,
 * vbscript:, file:) is not made a link: the server refuses such templates
 * at start-up, and this is the second lock on that door.
 *
 * A link to the editor opens in place (a custom scheme such as vscode:
 * hands the address to the editor and leaves the page as it is); one to
 * the code host opens in a new tab.  Both go without a referrer.
 */

import { h } from './dom.js';

const REFUSED = ['javascript', 'data', 'vbscript', 'file'];

// url if it is an address the page may link to, else ''.
export function safeHref(url) {
  if (typeof url !== 'string') return '';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  if (!m || REFUSED.includes(m[1].toLowerCase())) return '';
  if (/[\u0000-\u0020\u007f]/.test(url)) return '';
  return url;
}

// A file view's link with its {line} filled in.
export function fillLine(template, line) {
  return template.split('{line}').join(String(line | 0 || 1));
}

// Point a (an <a>) at url, or take its href away; true when it links.
export function setHref(a, url) {
  const href = safeHref(url);
  if (href) a.setAttribute('href', href);
  else a.removeAttribute('href');
  a.hidden = !href;
  return !!href;
}

function linkTo(kind, url, label) {
  const a = h('a', 'xlink ' + kind);
  if (!setHref(a, url)) return null;
  a.rel = 'noreferrer noopener';
  if (kind === 'host') a.target = '_blank';
  a.title = label;
  a.setAttribute('aria-label', label);
  a.appendChild(h('span', 'xlink-icon', kind === 'editor' ? '✎' : '↗'));
  a.firstChild.setAttribute('aria-hidden', 'true');
  return a;
}

// The links of a result r ({editor_url, link_url}) as a cell, or null
// when it has none; what: "line 12 of src/kv.c", for the labels.
export function resultLinks(r, what) {
  const editor = r.editor_url ? linkTo('editor', r.editor_url, 'Open ' + what + ' in your editor') : null;
  const host = r.link_url ? linkTo('host', r.link_url, 'Open ' + what + ' on the code host') : null;
  if (!editor && !host) return null;
  const cell = h('span', 'xlinks');
  if (editor) cell.appendChild(editor);
  if (host) cell.appendChild(host);
  return cell;
}
