// iamd's console: users, groups, roles, managed policies, access keys,
// buckets and the policy simulator, through iamd's own APIs (api.js),
// signed in the browser with credentials held in this module graph's
// memory only: a key pasted in, or a role session from the deployment's
// OpenID Connect provider (oidc.js). Every page has an address (#users, #user/NAME, #policy/ARN,
// …); nothing is stored in the browser.
import { query, setCredentials, text } from './api.js';
import { begin, finish, signInConfig } from './oidc.js';
import { initPasswordSignIn } from './password.js';
import { mfaSection } from './mfa.js';
import { showBuckets } from './buckets.js';
import { showGroup, showGroups } from './groups.js';
import { initSecretDialog, keysSection } from './keys.js';
import { showPolicies, showPolicy } from './policies.js';
import { showRole, showRoles } from './roles.js';
import { showSimulate } from './simulate.js';
import { initSwitchRole } from './switchrole.js';
import { $, act, el, main, session, showError } from './ui.js';
import { showUser, showUsers } from './users.js';

async function showMyKeys() {
  main().replaceChildren(el('h2', {}, 'My access keys'), el('p', {}, session.arn), ...(await keysSection('', showMyKeys)),
    ...(await mfaSection(showMyKeys)));
}

// Pages by the first part of the address; the rest is their argument.
const pages = {
  users: showUsers, user: showUser,
  groups: showGroups, group: showGroup,
  roles: showRoles, role: showRole,
  policies: showPolicies, policy: showPolicy,
  mykeys: showMyKeys, buckets: showBuckets,
  simulate: showSimulate,
};

function route() {
  if (!session.arn) return; // signed out: the sign-in form stays
  const hash = decodeURIComponent(location.hash.slice(1));
  const slash = hash.indexOf('/');
  const [page, arg] = slash < 0 ? [hash, undefined] : [hash.slice(0, slash), hash.slice(slash + 1)];
  const show = pages[page] || showUsers;
  for (const b of document.querySelectorAll('#nav button')) {
    if (b.dataset.view === page || (pages[page] && b.dataset.view === page + 's')) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  act(() => show(arg));
}
window.addEventListener('hashchange', route);

for (const b of document.querySelectorAll('#nav button')) {
  b.addEventListener('click', () => {
    if (location.hash === '#' + b.dataset.view) route();
    else location.hash = b.dataset.view;
  });
}

// signedInAs shows who the credentials just set belong to, in which
// account (and its alias, when the caller may read it), and the pages.
async function signedInAs() {
  try {
    const r = await query('sts', 'GetCallerIdentity');
    session.arn = text(r, 'Arn');
    session.account = text(r, 'Account');
  } catch (e) {
    setCredentials(null);
    showError(e);
    return;
  }
  $('whoami').textContent = 'Signed in as ' + session.arn;
  let alias = '';
  try {
    alias = (await query('iam', 'ListAccountAliases')).querySelector('AccountAliases > member')?.textContent || '';
  } catch { /* not allowed to read it: the ID alone */ }
  $('account').textContent = 'Account ' + session.account + (alias ? ` (${alias})` : '');
  $('signout').hidden = false;
  $('switchrole').hidden = false;
  $('nav').hidden = false;
  for (const id of ['signin', 'oidc', 'pwsignin']) $(id)?.remove();
  route();
}
initSwitchRole(signedInAs);

$('signin').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = $('akid').value.trim(), secret = $('secret').value;
  $('secret').value = '';
  setCredentials({ id, secret });
  await signedInAs();
});

// The provider's sign-in, when the server offers one: its button, and the
// end of a sign-in the provider has just sent the browser back from.
async function providerSignIn() {
  const cfg = await signInConfig();
  if (!cfg) return;
  const b = $('oidcbutton');
  b.textContent = 'Sign in with ' + cfg.name;
  b.addEventListener('click', () => act(() => begin(cfg)));
  $('oidc').hidden = false;
  const creds = await finish(cfg);
  if (creds) {
    setCredentials(creds);
    await signedInAs();
  }
}
providerSignIn().catch(showError);

initPasswordSignIn(async (creds) => {
  setCredentials(creds);
  await signedInAs();
}, showError);

$('signout').addEventListener('click', () => {
  setCredentials(null);
  location.hash = '';
  location.reload(); // forgets everything the tab held
});

initSecretDialog(showError);
