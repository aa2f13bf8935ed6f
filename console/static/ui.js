// Building blocks of the console's pages. Text from the server is only
// ever set as textContent (el never parses HTML).
import { APIError } from './api.js';

export const $ = (id) => document.getElementById(id);

// el makes an element: attributes (on* are listeners; false, null and
// undefined leave the attribute out) and children (nodes or text).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false || c === '') continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function showError(err) {
  const msg = err instanceof APIError ? `${err.code}: ${err.message}` : String((err && err.message) || err);
  $('error').textContent = msg;
}
export function clearError() { $('error').textContent = ''; }

// act runs an action, shows its error if any, and redraws on success.
export async function act(fn, redraw) {
  clearError();
  try {
    await fn();
    if (redraw) await redraw();
  } catch (e) {
    showError(e);
  }
}

export function table(headers, rows, caption) {
  return el('table', {}, caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, 'None.'))));
}

// link is a button that opens a page of the console (see app.js's go).
export function link(label, hash, attrs = {}) {
  return el('a', { href: '#' + hash, ...attrs }, label);
}

// field is a labelled input; returns [label, input].
let fieldSeq = 0;
export function field(label, attrs = {}) {
  const id = attrs.id || `f${++fieldSeq}`;
  const input = el(attrs.multiline ? 'textarea' : 'input', { ...attrs, id, multiline: undefined });
  return [el('label', { for: id }, label), input];
}

export function form(label, onsubmit, ...children) {
  return el('form', { 'aria-label': label, onsubmit: (ev) => { ev.preventDefault(); onsubmit(); } }, ...children);
}

export function buttons(...children) { return el('div', { class: 'row' }, ...children); }

export function button(label, onclick, attrs = {}) {
  return el('button', { type: 'button', onclick, ...attrs }, label);
}

// confirmThen runs fn after the person confirms question.
export function confirmThen(question, fn) {
  return () => { if (confirm(question)) fn(); };
}

// tagParams turns "k=v, k2=v2" into Tags.member.N.Key/Value parameters.
export function tagParams(s, prefix = 'Tags') {
  const p = {};
  s.split(',').map((t) => t.trim()).filter(Boolean).forEach((t, i) => {
    const [k, ...v] = t.split('=');
    p[`${prefix}.member.${i + 1}.Key`] = k.trim();
    p[`${prefix}.member.${i + 1}.Value`] = v.join('=').trim();
  });
  return p;
}

// policyEditor is a JSON policy document editor: a textarea that checks
// the JSON as it is typed and says where it is wrong. The service checks
// the rest when the document is saved, and its refusal (say,
// MalformedPolicyDocument and why) shows in the page's alert.
export function policyEditor(label, value, id) {
  const status = el('p', { class: 'editorstatus', id: id + '-status', 'aria-live': 'polite' });
  const area = el('textarea', { id, class: 'policy', rows: 14, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': status.id });
  area.value = value;
  const check = () => {
    try {
      const doc = JSON.parse(area.value);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('a policy document is a JSON object');
      status.textContent = 'Valid JSON.';
      status.className = 'editorstatus ok';
      return true;
    } catch (e) {
      status.textContent = 'Not valid JSON: ' + jsonWhere(area.value, e);
      status.className = 'editorstatus bad';
      return false;
    }
  };
  area.addEventListener('input', check);
  check();
  const format = button('Format JSON', () => { if (check()) area.value = JSON.stringify(JSON.parse(area.value), null, 2); });
  return {
    nodes: [el('label', { for: id }, label), area, status, buttons(format)],
    get value() { return area.value; },
    // checked is the document, or throws when it is not JSON.
    checked() {
      if (!check()) throw new Error(status.textContent);
      return area.value;
    },
  };
}

// jsonWhere words a JSON.parse error with the line and column where the
// text stops being JSON (browsers say a position, or nothing at the end).
function jsonWhere(text, err) {
  const msg = err.message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '').replace(/ \(line \d+ column \d+\)$/, '');
  const m = /position (\d+)/.exec(err.message);
  const pos = m ? Number(m[1]) : text.length;
  const before = text.slice(0, pos).split('\n');
  return `${msg} (line ${before.length}, column ${before[before.length - 1].length + 1})`;
}

// date shows an ISO time as the person's local time, keeping the ISO text
// in a title.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : el('time', { datetime: iso, title: iso }, d.toLocaleString());
}

// main is the page's content area.
export const main = () => $('main');

// go opens a page of the console (app.js routes on the hash): every page
// has an address that can be bookmarked, reloaded or opened again.
export function go(hash) {
  if (location.hash === '#' + hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

// session is who is signed in: GetCallerIdentity's ARN and account.
export const session = { arn: '', account: '' };
