// Sign-in with an account ID, a user name and a password (then the MFA
// code, or a new password, when asked), at the server's sign-in door. The
// password fields are emptied as soon as they are sent; the session's
// credentials are handed to api.js, which keeps them in memory only.
import { $ } from './ui.js';

async function post(body) {
  const resp = await fetch('signin', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
  const out = await resp.json().catch(() => ({}));
  if (!resp.ok && !out.newPasswordRequired) throw new Error(out.message || `The sign-in failed (${resp.status}).`);
  return out;
}

// initPasswordSignIn wires the form; onCredentials gets the session.
export function initPasswordSignIn(onCredentials, onError) {
  const form = $('pwsignin');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { account: $('pwaccount').value.trim(), user: $('pwuser').value.trim(), password: $('pwpassword').value };
    if (!$('pwcodefield').hidden) body.code = $('pwcode').value.trim();
    if (!$('pwnewfield').hidden) body.newPassword = $('pwnew').value;
    try {
      const out = await post(body);
      if (out.credentials) {
        for (const id of ['pwpassword', 'pwcode', 'pwnew']) $(id).value = '';
        const c = out.credentials;
        await onCredentials({ id: c.accessKeyId, secret: c.secretAccessKey, token: c.sessionToken });
        return;
      }
      if (out.mfaRequired) {
        $('pwcodefield').hidden = false;
        $('pwcode').focus();
      }
      if (out.newPasswordRequired) {
        $('pwnewfield').hidden = false;
        if (out.message) onError(new Error(out.message));
        $('pwnew').focus();
      }
    } catch (e) {
      $('pwcode').value = '';
      onError(e);
    }
  });
}
