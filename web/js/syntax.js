/*
 * syntax.js - syntax colours for lines of code, with the matches marked
 * on top.
 *
 * The colours come from highlight.js, vendored in web/vendor/highlight/
 * by tools/vendor-web (its core here; each language's grammar is loaded
 * the first time a line of that language is shown, so a page of C loads
 * only the C grammar).  LANGS maps shardgrep's language names (GET
 * /api/langs) to highlight.js's; a language it lacks is shown plain.
 *
 * Text from the index never becomes markup.  highlight.js returns HTML
 * that it escaped itself, made of exactly three things: <span
 * class="...">, </span> and text with & < > " ' escaped.  parse() reads
 * that grammar and nothing else into segments [text, class] (the class of
 * the innermost hljs- span), and the page builds the DOM from them with
 * text nodes and span elements (paint()); output that is not in that
 * grammar, or whose text is not the line's own, is dropped and the line
 * shown plain.  No innerHTML.
 *
 * A line's matches are byte ranges into its UTF-8 (highlight.js's
 * markSpans() makes them UTF-16 spans); paint() cuts the segments at
 * their edges and puts the pieces inside a <mark>, so the mark is on top
 * of the colours and covers exactly the matched characters.
 *
 * A line alone is coloured without what comes before it (a result row);
 * a run of lines (the file view's chunks) is coloured as one text, so a
 * comment or string that spans lines is coloured as such, and
 * tokenizeLines() starts a little before the run for the same reason.
 */

import hljs from '../vendor/highlight/core.min.js';
import { h } from './dom.js';
import { appendHighlighted, markSpans } from './highlight.js';

// shardgrep language -> highlight.js grammar (tools/vendor-web copies these).
const LANGS = {
  ada: 'ada', asciidoc: 'asciidoc', asm: 'x86asm', automake: 'makefile', awk: 'awk', bat: 'dos',
  bazel: 'python', c: 'c', clojure: 'clojure', cmake: 'cmake', config: 'ini', cpp: 'cpp',
  csharp: 'csharp', css: 'css', cuda: 'cpp', dart: 'dart', diff: 'diff', docker: 'dockerfile',
  dts: 'dts', elisp: 'lisp', elixir: 'elixir', erlang: 'erlang', fish: 'bash', fortran: 'fortran',
  fsharp: 'fsharp', go: 'go', graphql: 'graphql', groovy: 'groovy', haskell: 'haskell', html: 'xml',
  java: 'java', js: 'javascript', json: 'json', julia: 'julia', jupyter: 'json', kotlin: 'kotlin',
  lex: 'c', lisp: 'lisp', lua: 'lua', make: 'makefile', markdown: 'markdown', nim: 'nim', nix: 'nix',
  objc: 'objectivec', objcpp: 'objectivec', ocaml: 'ocaml', perl: 'perl', php: 'php',
  protobuf: 'protobuf', ps: 'powershell', python: 'python', r: 'r', ruby: 'ruby', rust: 'rust',
  scala: 'scala', sh: 'bash', sql: 'sql', svelte: 'xml', svg: 'xml', swift: 'swift', tcl: 'tcl',
  tex: 'latex', toml: 'ini', ts: 'typescript', verilog: 'verilog', vhdl: 'vhdl', vim: 'vim',
  vue: 'xml', xml: 'xml', yacc: 'c', yaml: 'yaml'
};

const LONG_LINE = 4000;         // longer lines are shown plain (and cost nothing)
const LOOKBACK = 40;            // lines coloured before a run, for its state

hljs.configure({ ignoreUnescapedHTML: true });

const grammars = new Map();     // highlight.js name -> 'loading' | 'ready' | 'failed'
const waiting = new Map();      // highlight.js name -> callbacks for when it is ready

// The highlight.js grammar for a shardgrep language name, or ''.
export function grammarOf(lang) {
  return (lang && Object.prototype.hasOwnProperty.call(LANGS, lang)) ? LANGS[lang] : '';
}

// Whether grammar g can colour now; if not, its load is started and fn
// (when given) is called once it is ready.
export function ready(g, fn) {
  const st = grammars.get(g);
  if (st === 'ready') return true;
  if (st === 'failed' || !g) return false;
  if (fn) {
    if (!waiting.has(g)) waiting.set(g, []);
    waiting.get(g).push(fn);
  }
  if (!st) load(g);
  return false;
}

function load(g) {
  grammars.set(g, 'loading');
  import('../vendor/highlight/languages/' + g + '.min.js').then((m) => {
    hljs.registerLanguage(g, m.default);
    grammars.set(g, 'ready');
  }, () => {
    grammars.set(g, 'failed');
  }).then(() => {
    const fns = waiting.get(g) || [];
    waiting.delete(g);
    if (grammars.get(g) === 'ready') fns.forEach((fn) => fn());
  });
}

/* ------------------------------------------------------------------ *
 * highlight.js's HTML -> segments.
 * ------------------------------------------------------------------ */

const TOKEN = /<span class="([\w\- ]*)">|<\/span>|[^<]+/y;
const ENTITY = /&(?:amp|lt|gt|quot|#x27);/g;
const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'" };

// html (highlight.js's output for n lines) -> n arrays of [text, class]
// ('' for none), or null if html is not what highlight.js writes.
function parse(html) {
  const lines = [[]];
  const stack = [];
  let pos = 0;
  while (pos < html.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(html);
    if (!m) return null;
    pos = TOKEN.lastIndex;
    if (m[1] !== undefined) {
      stack.push(m[1]);
    } else if (m[0] === '</span>') {
      if (!stack.length) return null;
      stack.pop();
    } else {
      if (m[0].indexOf('&') >= 0 && /&(?!(?:amp|lt|gt|quot|#x27);)/.test(m[0])) return null;
      const text = m[0].replace(ENTITY, (e) => ENTITIES[e]);
      let cls = '';
      for (let i = stack.length - 1; i >= 0; i--) {
        if (stack[i].indexOf('hljs-') >= 0) { cls = stack[i]; break; }
      }
      const parts = text.split('\n');
      for (let k = 0; k < parts.length; k++) {
        if (k > 0) lines.push([]);
        if (parts[k]) lines[lines.length - 1].push([parts[k], cls]);
      }
    }
  }
  return lines;
}

function segText(segs) {
  let t = '';
  for (const s of segs) t += s[0];
  return t;
}

// The segments of lines (an array of strings) coloured as one text by
// grammar g (ready), from line `from` on (the ones before are the
// lookback: coloured for their state, not returned).  A line whose
// segments do not spell it exactly gets null (shown plain).
function colour(g, lines, from) {
  let html;
  try {
    html = hljs.highlight(lines.join('\n'), { language: g, ignoreIllegals: true }).value;
  } catch (e) {
    return lines.slice(from).map(() => null);
  }
  const segs = parse(html);
  const out = [];
  for (let i = from; i < lines.length; i++) {
    const s = segs && segs.length === lines.length ? segs[i] : null;
    out.push(s && segText(s) === lines[i] ? s : null);
  }
  return out;
}

// Segments of the lines lines[a..b) (0-based, of a whole file), coloured
// with up to LOOKBACK lines before a for state.  Long lines are left out
// (null): they are blanked in the text coloured.
export function tokenizeLines(g, lines, a, b) {
  const start = Math.max(0, a - LOOKBACK);
  const text = [];
  for (let i = start; i < b; i++) text.push(lines[i].length > LONG_LINE ? '' : lines[i]);
  const out = colour(g, text, a - start);
  for (let i = a; i < b; i++) if (lines[i].length > LONG_LINE) out[i - a] = null;
  return out;
}

/* ------------------------------------------------------------------ *
 * Segments and marks -> DOM.
 * ------------------------------------------------------------------ */

// Append text to node: coloured by segs (null: plain), the byte ranges
// marked on top.  Returns the number of marks.
export function paint(node, text, segs, ranges) {
  if (!segs) return appendHighlighted(node, text, ranges);
  const spans = markSpans(text, ranges);
  let k = 0;                    // the next mark
  let mark = null;              // the mark being filled
  let pos = 0;
  for (const [t, cls] of segs) {
    let i = 0;
    while (i < t.length) {
      const at = pos + i;
      if (mark && at >= spans[k - 1][1]) mark = null;
      if (!mark && k < spans.length && at >= spans[k][0]) {
        mark = h('mark', 'hl');
        node.appendChild(mark);
        k++;
      }
      // The piece runs to the next edge of a mark, or the segment's end.
      let end = pos + t.length;
      if (mark) end = Math.min(end, spans[k - 1][1]);
      else if (k < spans.length) end = Math.min(end, spans[k][0]);
      const piece = t.slice(i, end - pos);
      (mark || node).appendChild(cls ? h('span', cls, piece) : document.createTextNode(piece));
      i = end - pos;
    }
    pos += t.length;
  }
  return spans.length;
}

// A result's line: coloured as lang (a shardgrep language) when its
// grammar is ready, else plain now and coloured once it is (if node is
// still shown by then).
export function paintLine(node, text, ranges, lang) {
  const g = grammarOf(lang);
  if (g && text.length <= LONG_LINE) {
    if (ready(g, () => {
      if (!node.isConnected) return;
      while (node.firstChild) node.removeChild(node.firstChild);
      paint(node, text, colour(g, [text], 0)[0], ranges);
    })) {
      return paint(node, text, colour(g, [text], 0)[0], ranges);
    }
  }
  return appendHighlighted(node, text, ranges);
}
