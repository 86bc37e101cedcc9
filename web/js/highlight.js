/*
 * highlight.js - a line of text with the matches marked.
 *
 * The server gives matches as byte ranges into the UTF-8 encoding of a
 * line (half-open, like the API's "ranges"); JavaScript strings are
 * UTF-16.  byteToIndex() maps one onto the other, so a highlight covers
 * exactly the matched characters whatever multi-byte text comes before
 * it.  Used by the result list and the file view alike (through
 * syntax.js, which puts the marks on top of syntax colours), and for the
 * file-name hits (ranges into the path) by appendHighlightedPath().
 */

import { appendTreeLabel, h } from './dom.js';

const utf8 = new TextEncoder();

// Byte offsets into the UTF-8 encoding of str -> indices into the JS
// (UTF-16) string.  An offset inside a character moves to its end.
function byteToIndex(str, offsets) {
  const order = offsets.map((_, i) => i).sort((a, b) => offsets[a] - offsets[b]);
  const out = new Array(offsets.length);
  let i = 0, b = 0;
  const n = str.length;
  for (let k = 0; k < order.length; k++) {
    const target = offsets[order[k]];
    while (i < n && b < target) {
      const c = str.charCodeAt(i);
      if (c < 0x80) { b += 1; i += 1; }
      else if (c < 0x800) { b += 2; i += 1; }
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n &&
               (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { b += 4; i += 2; }
      else { b += 3; i += 1; }
    }
    out[order[k]] = i;
  }
  return out;
}

// The byte ranges into text's UTF-8 as [start, end) indices into text,
// sorted, overlapping ones merged (adjacent matches stay apart), empty
// ones left out.
export function markSpans(text, ranges) {
  if (!ranges || !ranges.length) return [];
  const flat = [];
  ranges.forEach((r) => { flat.push(r[0] | 0, r[1] | 0); });
  const idx = byteToIndex(text, flat);
  const spans = [];
  for (let k = 0; k < idx.length; k += 2) {
    if (idx[k + 1] > idx[k]) spans.push([idx[k], idx[k + 1]]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  spans.forEach((r) => {
    const last = merged[merged.length - 1];
    // Overlapping ranges merge; adjacent matches stay separate marks.
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  });
  return merged;
}

// Append text to node with the byte ranges wrapped in <mark>; returns the
// number of marks.
export function appendHighlighted(node, text, ranges) {
  const merged = markSpans(text, ranges);
  if (!merged.length) { node.appendChild(document.createTextNode(text)); return 0; }
  let pos = 0;
  merged.forEach((r) => {
    if (r[0] > pos) node.appendChild(document.createTextNode(text.slice(pos, r[0])));
    node.appendChild(h('mark', 'hl', text.slice(r[0], r[1])));
    pos = r[1];
  });
  if (pos < text.length) node.appendChild(document.createTextNode(text.slice(pos)));
  return merged.length;
}

// A path as dom.js's appendPath() shows it (the tree's label, a dimmed
// folder, a bold base name), with the byte ranges into the path marked:
// a range that spans the last '/' is marked on both sides of it.
export function appendHighlightedPath(node, path, tree, ranges) {
  appendTreeLabel(node, tree);
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1), base = path.slice(slash + 1);
  const cut = utf8.encode(dir).length;
  const rs = (ranges || []).map((r) => [r[0] | 0, r[1] | 0]);
  if (dir) {
    const d = h('span', 'dir');
    appendHighlighted(d, dir, rs.filter((r) => r[0] < cut).map((r) => [r[0], Math.min(r[1], cut)]));
    node.appendChild(d);
  }
  const b = h('span', 'base');
  appendHighlighted(b, base, rs.filter((r) => r[1] > cut).map((r) => [Math.max(r[0], cut) - cut, r[1] - cut]));
  node.appendChild(b);
}
