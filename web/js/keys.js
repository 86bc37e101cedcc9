/*
 * keys.js - the keyboard: shortcuts, and the help dialog that lists them.
 *
 * One keydown handler on the document decides by view and by where the
 * focus is: a key that types text does so in a text field ("/", "j",
 * "n" are shortcuts only outside one), but the arrows and Enter work from
 * the search box too, so a search can be typed, picked and opened without
 * leaving it.  The help dialog (index.html) is the list users read: a
 * shortcut added here goes there too.
 */

import { ui } from './dom.js';
import { fileLink, jumpMatch } from './fileview.js';
import { move, selectedHref, selectedLink } from './results.js';
import { clearSearch, currentView, fromControls, goBackToResults, openResult } from './router.js';
import { currentRows } from './search.js';

function isTextField(t) {
  if (!t || !t.tagName) return false;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable) return true;
  if (tag !== 'INPUT') return false;
  return !/^(radio|checkbox|button|submit|reset)$/.test(t.type);
}

export function openHelp() { if (!ui.help.open) ui.help.showModal(); }

export function closeHelp() { ui.help.close(); }

// A click on the dialog's backdrop closes it.
export function onHelpClick(e) { if (e.target === ui.help) ui.help.close(); }

// e / o: follow an editor or code-host link (links.js) as a click would,
// so the browser hands a custom scheme to its application.
function openLink(e, a) {
  if (!a) return;
  e.preventDefault();
  a.click();
}

export function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  if (ui.help.open) return;                 // the dialog handles Esc itself
  const t = e.target;
  const typing = isTextField(t);
  const inBox = t === ui.q;
  const onControl = !typing && t && (t.tagName === 'BUTTON' || (t.tagName === 'A' && !t.classList.contains('ln')));
  const key = e.key;

  if (key === '/' && !typing) { e.preventDefault(); ui.q.focus(); ui.q.select(); return; }
  if (key === '?' && !typing) { e.preventDefault(); openHelp(); return; }

  if (currentView() === 'file') {
    if (key === 'Escape') { e.preventDefault(); goBackToResults(); return; }
    if (typing) return;
    if (key === 'e' || key === 'o') { openLink(e, fileLink(key === 'e' ? 'editor' : 'host')); return; }
    if (key === 'n') { e.preventDefault(); jumpMatch(1); }
    else if (key === 'p' || key === 'N') { e.preventDefault(); jumpMatch(-1); }
    return;
  }

  if (key === 'Escape') {
    if (typing && !inBox) { t.blur(); return; }
    e.preventDefault();
    clearSearch();
    return;
  }
  const rows = currentRows();
  if ((key === 'ArrowDown' || key === 'ArrowUp') && (inBox || !typing)) {
    if (!rows || !rows.length) return;
    e.preventDefault();
    move(rows, key === 'ArrowDown' ? 1 : -1);
    return;
  }
  if ((key === 'e' || key === 'o') && !typing) {
    openLink(e, selectedLink(rows, key === 'e' ? 'editor' : 'host'));
    return;
  }
  if ((key === 'j' || key === 'k') && !typing) {
    e.preventDefault();
    move(rows, key === 'j' ? 1 : -1);
    return;
  }
  if (key === 'Enter' && (inBox || (!typing && !onControl))) {
    const href = selectedHref(rows);
    if (href) { e.preventDefault(); openResult(href); return; }
  }
  if (key === 'Enter' && (inBox || t === ui.path || t === ui.exclude)) {
    // Search now (the form has several text fields, so the browser
    // would not submit it on Enter by itself).
    e.preventDefault();
    fromControls('enter');
  }
}
