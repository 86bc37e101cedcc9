/*
 * token.js - the access-token form, for a server started with --token.
 *
 * The API client keeps the token and sends it (api.js); this module asks
 * for it.  The first 401 an answer brings shows the form (once: a second
 * 401 while it shows only updates its message); a token typed in is kept
 * and the hook the entry module set runs, which searches again.  The
 * token never goes into an address.
 */

import { hasToken, setToken } from './api.js';
import { ui, show } from './dom.js';

let onToken = () => {};

export function whenToken(fn) { onToken = fn; }

// err: an ApiError (or anything with a status).  Shows the form on a 401,
// and says whether it did.
export function needToken(err) {
  if (!err || err.status !== 401) return false;
  ui.tokenError.textContent = hasToken() ? 'The server refused this token.' : '';
  if (ui.tokenForm.hidden) {
    show(ui.tokenForm, true);
    ui.token.value = '';
    ui.token.focus();
  }
  return true;
}

// The form's submit.
export function useToken(e) {
  e.preventDefault();
  const t = ui.token.value.trim();
  if (!t) return;
  setToken(t);
  show(ui.tokenForm, false);
  ui.tokenError.textContent = '';
  onToken();
}
