// iamd's console: users, their access keys, buckets and their keys, and
// the policy simulator, through iamd's own APIs (api.js). Text from the
// server is only ever set as textContent.
import { APIError, lightsail, members, query, setCredentials, text } from './api.js';

const $ = (id) => document.getElementById(id);
const main = $('main');
let me = null; // GetCallerIdentity's answer

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function showError(err) {
  const msg = err instanceof APIError ? `${err.code}: ${err.message}` : String(err && err.message || err);
  $('error').textContent = msg;
}
function clearError() { $('error').textContent = ''; }

// act runs an action, shows its error if any, and redraws on success.
async function act(fn, redraw) {
  clearError();
  try { await fn(); if (redraw) await redraw(); } catch (e) { showError(e); }
}

function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
}

// ---- signing in and out ----

$('signin').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = $('akid').value.trim(), secret = $('secret').value;
  $('secret').value = '';
  setCredentials({ id, secret });
  await act(async () => {
    const r = await query('sts', 'GetCallerIdentity');
    me = { arn: text(r, 'Arn'), account: text(r, 'Account') };
    $('whoami').textContent = 'Signed in as ' + me.arn;
    $('signout').hidden = false;
    $('nav').hidden = false;
    $('signin').remove();
    await showUsers();
  });
  if (!me) setCredentials(null);
});

$('signout').addEventListener('click', () => {
  setCredentials(null);
  location.reload(); // forgets everything the tab held
});

for (const b of document.querySelectorAll('#nav button')) {
  b.addEventListener('click', () => act(views[b.dataset.view]));
}

// ---- the once-only secret dialog ----

let csvURL = null;
function showSecret(id, secret) {
  $('newkeyid').textContent = id;
  $('newsecret').textContent = secret;
  csvURL = URL.createObjectURL(new Blob([`Access key ID,Secret access key\n${id},${secret}\n`], { type: 'text/csv' }));
  $('downloadcsv').href = csvURL;
  $('downloadcsv').download = `${id}_accessKeys.csv`;
  $('secretdialog').showModal();
}
$('copysecret').addEventListener('click', () => navigator.clipboard.writeText($('newsecret').textContent).catch(showError));
// wipe takes the secret off the page: it leaves with the dialog, however
// the dialog is closed (Done, or Escape).
function wipe() {
  $('newsecret').textContent = '';
  $('newkeyid').textContent = '';
  $('downloadcsv').href = '#';
  if (csvURL) URL.revokeObjectURL(csvURL);
  csvURL = null;
}
$('closedialog').addEventListener('click', () => { wipe(); $('secretdialog').close(); });
$('secretdialog').addEventListener('close', wipe);

// ---- users ----

let userFilter = '';
async function showUsers() {
  const users = [];
  let marker, listErr = null;
  try {
    do { // every page: the filter is by name prefix, which ListUsers does not do
      const r = await query('iam', 'ListUsers', marker ? { Marker: marker } : {});
      users.push(...members(r, 'Users'));
      marker = text(r, 'IsTruncated') === 'true' ? text(r, 'Marker') : undefined;
    } while (marker);
  } catch (e) { listErr = e; }
  const open = el('input', { id: 'openuser' });
  const openForm = el('form', { 'aria-label': 'Open a user', onsubmit: (ev) => { ev.preventDefault(); act(() => showUser(open.value)); } },
    el('label', { for: 'openuser' }, 'Open a user by name'), open, el('div', { class: 'row' }, el('button', { type: 'submit' }, 'Open')));
  const shown = users.filter((u) => text(u, 'UserName').toLowerCase().startsWith(userFilter.toLowerCase()));
  const name = el('input', { id: 'newuser', required: true, pattern: '[\\w+=,.@\\-]+' });
  const path = el('input', { id: 'newpath', placeholder: '/' });
  const tags = el('input', { id: 'newtags', placeholder: 'team=a, env=prod' });
  const search = el('input', { id: 'usersearch', type: 'search', value: userFilter });
  search.addEventListener('input', () => { userFilter = search.value; act(showUsers); });
  if (listErr) {
    main.replaceChildren(el('h2', {}, 'Users'), openForm);
    throw listErr;
  }
  main.replaceChildren(
    el('h2', {}, 'Users'), openForm,
    el('label', { for: 'usersearch' }, 'Search by name prefix'), search,
    table(['User', 'Path', 'Created', ''], shown.map((u) => el('tr', {},
      el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => act(() => showUser(text(u, 'UserName'))) }, text(u, 'UserName'))),
      el('td', {}, text(u, 'Path')), el('td', {}, text(u, 'CreateDate')),
      el('td', {}, el('button', { type: 'button', 'aria-label': 'Delete user ' + text(u, 'UserName'),
        onclick: () => confirm(`Delete user ${text(u, 'UserName')}?`) && act(() => query('iam', 'DeleteUser', { UserName: text(u, 'UserName') }), showUsers) }, 'Delete'))))),
    el('form', { 'aria-label': 'Create user', onsubmit: (ev) => {
      ev.preventDefault();
      const p = { UserName: name.value };
      if (path.value) p.Path = path.value;
      tags.value.split(',').map((t) => t.trim()).filter(Boolean).forEach((t, i) => {
        const [k, ...v] = t.split('=');
        p[`Tags.member.${i + 1}.Key`] = k.trim();
        p[`Tags.member.${i + 1}.Value`] = v.join('=').trim();
      });
      act(() => query('iam', 'CreateUser', p), showUsers);
    } },
    el('h3', {}, 'Create user'),
    el('label', { for: 'newuser' }, 'User name'), name,
    el('label', { for: 'newpath' }, 'Path (optional)'), path,
    el('label', { for: 'newtags' }, 'Tags (optional)'), tags,
    el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary' }, 'Create user'))));
}

// keysTable lists a user's keys ("" for the caller's own) with their
// actions.
async function keysSection(userName) {
  const p = userName ? { UserName: userName } : {};
  const r = await query('iam', 'ListAccessKeys', p);
  const keys = members(r, 'AccessKeyMetadata');
  const redraw = () => (userName ? showUser(userName) : showMyKeys());
  const rows = [];
  for (const k of keys) {
    const id = text(k, 'AccessKeyId'), status = text(k, 'Status');
    const lu = await query('iam', 'GetAccessKeyLastUsed', { AccessKeyId: id });
    const used = text(lu, 'LastUsedDate');
    const usedText = used ? `${used} (${text(lu, 'Region')}, ${text(lu, 'ServiceName')})` : 'N/A';
    const flip = status === 'Active' ? 'Inactive' : 'Active';
    rows.push(el('tr', {},
      el('td', {}, el('code', {}, id)), el('td', {}, status), el('td', {}, text(k, 'CreateDate')), el('td', {}, usedText),
      el('td', {},
        status === 'Expired' ? '' : el('button', { type: 'button', 'aria-label': `${flip === 'Active' ? 'Activate' : 'Deactivate'} ${id}`,
          onclick: () => act(() => query('iam', 'UpdateAccessKey', { ...p, AccessKeyId: id, Status: flip }), redraw) }, flip === 'Active' ? 'Activate' : 'Deactivate'),
        ' ',
        el('button', { type: 'button', 'aria-label': 'Delete ' + id,
          onclick: () => confirm(`Delete access key ${id}? Anything using it stops working.`) &&
            act(() => query('iam', 'DeleteAccessKey', { ...p, AccessKeyId: id }), redraw) }, 'Delete'))));
  }
  const full = keys.length >= 2;
  return [
    el('h3', {}, 'Access keys'),
    table(['Access key ID', 'Status', 'Created', 'Last used', ''], rows),
    full ? el('p', { class: 'note' }, 'A user may have at most two access keys. To rotate, deactivate and delete one, then create a new one.') : '',
    el('div', { class: 'row' }, el('button', { type: 'button', class: 'primary', id: 'createkey', onclick: () => act(async () => {
      const created = await query('iam', 'CreateAccessKey', p);
      showSecret(text(created, 'AccessKeyId'), text(created, 'SecretAccessKey'));
    }, redraw) }, 'Create access key')),
  ];
}

async function showUser(name) {
  const keys = await keysSection(name); // first: what a key operator may see
  const u = await query('iam', 'GetUser', { UserName: name });
  const groups = members(await query('iam', 'ListGroupsForUser', { UserName: name }), 'Groups').map((g) => text(g, 'GroupName'));
  const attached = members(await query('iam', 'ListAttachedUserPolicies', { UserName: name }), 'AttachedPolicies').map((a) => text(a, 'PolicyArn'));
  const inline = members(await query('iam', 'ListUserPolicies', { UserName: name }), 'PolicyNames').map((m) => m.textContent);
  main.replaceChildren(
    el('h2', {}, 'User ' + text(u, 'UserName')),
    el('p', {}, text(u, 'Arn')),
    ...keys,
    el('h3', {}, 'Groups'), el('ul', {}, groups.map((g) => el('li', {}, g))),
    el('h3', {}, 'Attached policies'), el('ul', {}, attached.map((a) => el('li', {}, a))),
    el('h3', {}, 'Inline policies'), el('ul', {}, inline.map((n) => el('li', {}, n))));
}

async function showMyKeys() {
  main.replaceChildren(el('h2', {}, 'My access keys'), el('p', {}, me.arn), ...(await keysSection('')));
}

// ---- buckets ----

async function showBuckets() {
  const out = await lightsail('GetBuckets', {});
  const name = el('input', { id: 'newbucket', required: true });
  const bundle = el('input', { id: 'newbundle', value: 'small_1_0' });
  const sections = [];
  for (const b of out.buckets || []) {
    const keys = (await lightsail('GetBucketAccessKeys', { bucketName: b.name })).accessKeys || [];
    sections.push(el('section', { 'aria-label': 'Bucket ' + b.name },
      el('h3', {}, b.name), el('p', {}, `${b.bundleId} · ${b.arn}`),
      table(['Access key ID', 'Last used', ''], keys.map((k) => el('tr', {},
        el('td', {}, el('code', {}, k.accessKeyId)),
        el('td', {}, k.lastUsed && k.lastUsed.lastUsedDate ? `${new Date(k.lastUsed.lastUsedDate * 1000).toISOString()} (${k.lastUsed.serviceName})` : 'N/A'),
        el('td', {}, el('button', { type: 'button', 'aria-label': 'Delete ' + k.accessKeyId,
          onclick: () => confirm(`Delete access key ${k.accessKeyId}?`) && act(() => lightsail('DeleteBucketAccessKey', { bucketName: b.name, accessKeyId: k.accessKeyId }), showBuckets) }, 'Delete'))))),
      el('div', { class: 'row' },
        el('button', { type: 'button', onclick: () => act(async () => {
          const k = await lightsail('CreateBucketAccessKey', { bucketName: b.name });
          showSecret(k.accessKey.accessKeyId, k.accessKey.secretAccessKey);
        }, showBuckets) }, 'Create bucket key'),
        el('button', { type: 'button', onclick: () => confirm(`Delete bucket ${b.name} and its keys?`) &&
          act(() => lightsail('DeleteBucket', { bucketName: b.name, forceDelete: true }), showBuckets) }, 'Delete bucket'))));
  }
  main.replaceChildren(el('h2', {}, 'Buckets'), ...sections,
    el('form', { 'aria-label': 'Create bucket', onsubmit: (ev) => {
      ev.preventDefault();
      act(() => lightsail('CreateBucket', { bucketName: name.value, bundleId: bundle.value }), showBuckets);
    } }, el('h3', {}, 'Create bucket'),
    el('label', { for: 'newbucket' }, 'Bucket name'), name,
    el('label', { for: 'newbundle' }, 'Bundle'), bundle,
    el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary' }, 'Create bucket'))));
}

// ---- the policy simulator ----

function showSimulate() {
  const who = el('input', { id: 'simwho', value: me.arn.includes(':user/') ? me.arn : '' });
  const action = el('input', { id: 'simaction', placeholder: 'iam:CreateAccessKey' });
  const resource = el('input', { id: 'simresource', placeholder: '*' });
  const result = el('p', { id: 'simresult', 'aria-live': 'polite' });
  main.replaceChildren(el('h2', {}, 'Policy simulator'),
    el('form', { 'aria-label': 'Simulate', onsubmit: (ev) => {
      ev.preventDefault();
      act(async () => {
        const r = await query('iam', 'SimulatePrincipalPolicy', { PolicySourceArn: who.value, 'ActionNames.member.1': action.value,
          'ResourceArns.member.1': resource.value || '*' });
        const e = members(r, 'EvaluationResults')[0];
        result.textContent = `${text(e, 'EvalActionName')} on ${text(e, 'EvalResourceName')}: ${text(e, 'EvalDecision')}`;
      });
    } },
    el('label', { for: 'simwho' }, 'User ARN'), who,
    el('label', { for: 'simaction' }, 'Action'), action,
    el('label', { for: 'simresource' }, 'Resource ARN'), resource,
    el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary' }, 'Simulate'))), result);
}

const views = { users: showUsers, mykeys: showMyKeys, buckets: showBuckets, simulate: showSimulate };
