// Access keys: a user's (or the signed-in caller's own) and the dialog
// that shows a new secret once.
import { members, query, text } from './api.js';
import { $, act, button, buttons, confirmThen, el, table, when } from './ui.js';

let csvURL = null;

// showSecret shows a new key's secret in the dialog, the only time it is
// ever shown; closing the dialog takes it off the page.
export function showSecret(id, secret) {
  $('newkeyid').textContent = id;
  $('newsecret').textContent = secret;
  csvURL = URL.createObjectURL(new Blob([`Access key ID,Secret access key\n${id},${secret}\n`], { type: 'text/csv' }));
  $('downloadcsv').href = csvURL;
  $('downloadcsv').download = `${id}_accessKeys.csv`;
  $('secretdialog').showModal();
}

function wipe() {
  $('newsecret').textContent = '';
  $('newkeyid').textContent = '';
  $('downloadcsv').href = '#';
  if (csvURL) URL.revokeObjectURL(csvURL);
  csvURL = null;
}

export function initSecretDialog(onError) {
  $('copysecret').addEventListener('click', () => navigator.clipboard.writeText($('newsecret').textContent).catch(onError));
  $('closedialog').addEventListener('click', () => { wipe(); $('secretdialog').close(); });
  $('secretdialog').addEventListener('close', wipe); // however it closes (Done, Escape)
}

// keysSection lists the keys of userName ('' for the caller's own) with
// their actions; redraw shows the page again.
export async function keysSection(userName, redraw) {
  const p = userName ? { UserName: userName } : {};
  const keys = members(await query('iam', 'ListAccessKeys', p), 'AccessKeyMetadata');
  const rows = [];
  for (const k of keys) {
    const id = text(k, 'AccessKeyId'), status = text(k, 'Status');
    const lu = await query('iam', 'GetAccessKeyLastUsed', { AccessKeyId: id });
    const used = text(lu, 'LastUsedDate');
    const flip = status === 'Active' ? 'Deactivate' : 'Activate';
    rows.push(el('tr', {},
      el('td', {}, el('code', {}, id)), el('td', {}, status), el('td', {}, when(text(k, 'CreateDate'))),
      el('td', {}, used ? [when(used), ` (${text(lu, 'Region')}, ${text(lu, 'ServiceName')})`] : 'N/A'),
      el('td', {},
        status === 'Expired' ? '' : button(flip, () => act(() => query('iam', 'UpdateAccessKey', { ...p, AccessKeyId: id, Status: flip === 'Activate' ? 'Active' : 'Inactive' }), redraw),
          { 'aria-label': `${flip} ${id}` }),
        ' ',
        button('Delete', confirmThen(`Delete access key ${id}? Anything using it stops working.`, () => act(() => query('iam', 'DeleteAccessKey', { ...p, AccessKeyId: id }), redraw)),
          { 'aria-label': 'Delete ' + id }))));
  }
  return [
    el('h3', {}, 'Access keys'),
    table(['Access key ID', 'Status', 'Created', 'Last used', ''], rows),
    keys.length >= 2 ? el('p', { class: 'note' }, 'A user may have at most two access keys. To rotate, deactivate and delete one, then create a new one.') : '',
    buttons(button('Create access key', () => act(async () => {
      const created = await query('iam', 'CreateAccessKey', p);
      showSecret(text(created, 'AccessKeyId'), text(created, 'SecretAccessKey'));
    }, redraw), { class: 'primary', id: 'createkey' })),
  ];
}
