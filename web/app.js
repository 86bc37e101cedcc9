/*
 * app.js - the shardgrep search page: the entry module.
 *
 * Plain ES modules, no framework, no build step; they load under the
 * server's Content-Security-Policy (script-src 'self': no inline script
 * or style anywhere).  This file only wires the page's events to the
 * modules in js/, each of which opens with what it owns:
 *
 *   router.js    the address -> the view shown; the controls -> the address
 *   keys.js      keyboard shortcuts and the help dialog
 *   search.js    a search's life: supersede, the streamed first page, "show more"
 *   fileview.js  one file, its matches marked, #L line selection
 *   results.js   the result list, summary, warnings, welcome panel
 *   names.js     the file-name hits, above the results ("file:", the toggle)
 *   facets.js    the side panel: folders and languages, one click filters
 *   trees.js     the server's trees (one, or several) and the tree filter
 *   langs.js     the server's languages and the language filter
 *   notice.js    "server down or restarting" and the /healthz poll
 *   token.js     the access-token form (--token)
 *   syntax.js    syntax colours (vendor/highlight: tools/vendor-web), marks on top
 *   links.js     editor and code-host links (the server's URLs, checked)
 *   highlight.js byte ranges -> <mark> in UTF-16 text
 *   dom.js       the page's elements; text in, never markup
 *   api.js       the HTTP API client: one routine reads a query's page
 *   params.js    search parameters <-> address
 *   format.js    figures as the page writes them
 *
 * Layers look down only: the list above goes from the top (events,
 * views) to the bottom (the API, the address, formatting); api.js and
 * params.js know nothing of the page's elements.  Where a lower module
 * must set off something above it (the server came back, a token was
 * given), this file hands it the hook.
 */

import { ui } from './js/dom.js';
import { onFacetClick, onFacetsToggle } from './js/facets.js';
import { applyLines, onFileClick } from './js/fileview.js';
import { closeHelp, onHelpClick, onKey, openHelp } from './js/keys.js';
import { loadLangs, onLangChange } from './js/langs.js';
import { retryNow, whenRecovered } from './js/notice.js';
import { parseLines } from './js/params.js';
import { forgetIndexStats } from './js/results.js';
import { currentView, debounced, fromControls, goBackToResults, onLinkClick, onPopState, route,
         searchAsLiteral } from './js/router.js';
import { cancelOnLeave, showMore } from './js/search.js';
import { useToken, whenToken } from './js/token.js';
import { loadTrees, onTreeChange } from './js/trees.js';

whenRecovered(() => {
  loadTrees();
  loadLangs();
  route({ force: true });
});
whenToken(() => {
  forgetIndexStats();
  loadTrees();
  loadLangs();
  route({ force: true });
  ui.q.focus();
});

// The search form.
ui.q.addEventListener('input', debounced);
ui.path.addEventListener('input', debounced);
ui.exclude.addEventListener('input', debounced);
[ui.regex, ui.literal, ui.caseSel, ui.context, ui.fileNames, ui.show].forEach((c) => {
  c.addEventListener('change', () => { fromControls('commit'); });
});
ui.treeFilter.addEventListener('change', (e) => { if (onTreeChange(e)) fromControls('commit'); });
ui.lang.addEventListener('change', () => { if (onLangChange()) fromControls('commit'); });
ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  fromControls('enter');
});
ui.asLiteral.addEventListener('click', searchAsLiteral);
ui.more.addEventListener('click', showMore);
ui.facetsBody.addEventListener('click', (e) => { if (onFacetClick(e)) fromControls('commit'); });
ui.facetsToggle.addEventListener('click', onFacetsToggle);
ui.tokenForm.addEventListener('submit', useToken);
ui.noticeRetry.addEventListener('click', retryNow);

// The file view.
ui.fileBody.addEventListener('click', onFileClick);
ui.back.addEventListener('click', (e) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  goBackToResults();
});

// Links, history, leaving.
document.addEventListener('click', onLinkClick);
window.addEventListener('popstate', onPopState);
window.addEventListener('hashchange', () => {
  if (currentView() === 'file') applyLines(parseLines(location.hash), true);
});
window.addEventListener('pagehide', cancelOnLeave);

// Keys and help.
ui.helpBtn.addEventListener('click', openHelp);
ui.helpClose.addEventListener('click', closeHelp);
ui.help.addEventListener('click', onHelpClick);
document.addEventListener('keydown', onKey);

// Start.
if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
loadTrees();
loadLangs();
route();
if (currentView() === 'search' && !ui.q.value) ui.q.focus();
