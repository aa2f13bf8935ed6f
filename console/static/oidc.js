// Sign-in through the deployment's OpenID Connect provider: the
// authorization-code flow with PKCE (RFC 7636), as a public client with no
// secret, then AssumeRoleWithWebIdentity for the configured role. The code
// verifier, state and nonce must outlive the trip to the provider, so they
// wait in this tab's sessionStorage and are removed the moment the
// provider sends the browser back; the ID token and the credentials are
// held in memory only.
import { assumeRoleWithWebIdentity } from './api.js';

const pending = 'iamd-oidc-pending';

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

// signInConfig is the provider the server offers, or undefined.
export async function signInConfig() {
  const r = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  return r.ok ? (await r.json()).signIn : undefined;
}

async function discover(issuer) {
  const r = await fetch(issuer.replace(/\/$/, '') + '/.well-known/openid-configuration', { credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' })
    .catch(() => null);
  if (!r || !r.ok) throw new Error(`The identity provider ${issuer} could not be reached.`);
  return r.json();
}

const redirectURI = () => location.origin + location.pathname;

// begin sends the browser to the provider.
export async function begin(cfg) {
  const d = await discover(cfg.issuer);
  const verifier = random(32), state = random(16), nonce = random(16);
  sessionStorage.setItem(pending, JSON.stringify({ verifier, state, nonce }));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const u = new URL(d.authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectURI(), scope: 'openid',
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256' })) u.searchParams.set(k, v);
  location.assign(u.href);
}

function claimsOf(idToken) {
  const part = idToken.split('.')[1] || '';
  const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

// sessionName is a role session name (2–64 of [\w+=,.@-]) for the person.
function sessionName(claims) {
  const n = String(claims.preferred_username || claims.email || claims.sub || 'console').replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return n.length < 2 ? 'console-' + n : n;
}

// finish completes a sign-in the provider sent the browser back with and
// returns the role session's credentials; undefined when the address holds
// no answer of the provider's.
export async function finish(cfg) {
  const q = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem(pending) || 'null');
  sessionStorage.removeItem(pending);
  if (!q.has('code') && !q.has('error')) return undefined;
  history.replaceState(null, '', location.pathname + location.hash); // the code leaves the address bar and the history
  if (q.has('error')) throw new Error('The identity provider refused the sign-in: ' + (q.get('error_description') || q.get('error')));
  if (!saved || q.get('state') !== saved.state) throw new Error('This sign-in was not started in this tab: sign in again.');
  const d = await discover(cfg.issuer);
  const resp = await fetch(d.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectURI(), client_id: cfg.clientId,
      code_verifier: saved.verifier }).toString(), credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' }).catch(() => null);
  if (!resp) throw new Error(`The identity provider's token endpoint could not be reached (the console may call ${new URL(cfg.issuer).origin} only).`);
  const tok = await resp.json().catch(() => ({}));
  if (!resp.ok || !tok.id_token) throw new Error('The identity provider gave no ID token: ' + (tok.error_description || tok.error || resp.status));
  const claims = claimsOf(tok.id_token);
  if (claims.nonce !== saved.nonce) throw new Error('The ID token is not for this sign-in: sign in again.');
  return assumeRoleWithWebIdentity(cfg.roleArn, sessionName(claims), tok.id_token);
}
