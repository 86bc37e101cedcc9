/*
 * format.js - numbers, sizes and durations as the page writes them.
 *
 * One home for how a figure reads ("1,234 matching lines", "4.1 ms",
 * "1.2 GiB"), so the summary, the file view and the welcome panel say
 * figures the same way.  Pure functions: no page, no server.
 */

const nf = new Intl.NumberFormat('en-US');

export function num(n) { return nf.format(n); }

export function plural(n, one, many) { return n === 1 ? one : many; }

export function capital(s) {
  s = String(s);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function fmtMs(ms) {
  ms = Number(ms) || 0;
  if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + ' s';
  if (ms >= 10) return Math.round(ms) + ' ms';
  return ms.toFixed(ms >= 1 ? 1 : 2) + ' ms';
}

export function fmtBytes(b) {
  const u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return (i ? b.toFixed(b >= 100 ? 0 : 1) : String(b)) + ' ' + u[i];
}
