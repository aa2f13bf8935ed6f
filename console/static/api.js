// Calls to iamd's own APIs, signed by the signed-in credentials: a key, or
// a role session's key and token. They live in this module's memory only.
import { amzDate, sign } from './sigv4.js';

let creds = null;

export function setCredentials(c) { creds = c; }
export function credentials() { return creds; }
export function signedIn() { return creds !== null; }

export class APIError extends Error {
  constructor(code, message, status) { super(message); this.code = code; this.status = status; }
}

async function send(headers, body) {
  const date = amzDate(new Date());
  const all = { ...headers, host: location.host, 'x-amz-date': date };
  if (creds.token) all['x-amz-security-token'] = creds.token; // a role session's, signed with the rest
  const service = headers['x-amz-target'] ? 'lightsail' : (body.includes('Version=2011-06-15') ? 'sts' : 'iam');
  all.authorization = await sign({ method: 'POST', path: '/', query: '', headers: { ...all }, body,
    accessKeyId: creds.id, secretAccessKey: creds.secret, region: 'us-east-1', service, date });
  delete all.host;
  const resp = await fetch('/', { method: 'POST', headers: all, body, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
  return [resp, await resp.text()];
}

const versions = { iam: '2010-05-08', sts: '2011-06-15' };

// query calls an IAM or STS action and returns its result element.
export async function query(service, action, params = {}) {
  const p = new URLSearchParams({ Action: action, Version: versions[service], ...params });
  const [resp, text] = await send({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, p.toString());
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (!resp.ok) {
    const code = doc.querySelector('Error > Code')?.textContent || String(resp.status);
    throw new APIError(code, doc.querySelector('Error > Message')?.textContent || resp.statusText, resp.status);
  }
  return doc.querySelector(action + 'Result') || doc.documentElement;
}

// assumeRoleWithWebIdentity exchanges an ID token for a role session, as
// AWS's STS does: unsigned, the token being the proof. It returns the
// credentials, to be given to setCredentials.
export async function assumeRoleWithWebIdentity(roleArn, sessionName, token) {
  const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: versions.sts, RoleArn: roleArn,
    RoleSessionName: sessionName, WebIdentityToken: token }).toString();
  const resp = await fetch('/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
    credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
  const doc = new DOMParser().parseFromString(await resp.text(), 'application/xml');
  if (!resp.ok) {
    throw new APIError(doc.querySelector('Error > Code')?.textContent || String(resp.status),
      doc.querySelector('Error > Message')?.textContent || resp.statusText, resp.status);
  }
  const c = doc.querySelector('Credentials');
  return { id: text(c, 'AccessKeyId'), secret: text(c, 'SecretAccessKey'), token: text(c, 'SessionToken') };
}

// lightsail calls a Lightsail operation with a JSON input.
export async function lightsail(op, input = {}) {
  const [resp, text] = await send({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Lightsail_20161128.' + op }, JSON.stringify(input));
  const out = text ? JSON.parse(text) : {};
  if (!resp.ok) {
    throw new APIError((out.__type || '').split('#').pop() || String(resp.status), out.message || resp.statusText, resp.status);
  }
  return out;
}

// text is the text of the first element of that name under el, or "".
export function text(el, name) { return el.getElementsByTagName(name)[0]?.textContent ?? ''; }

// members returns the <member> children of the named list under el.
export function members(el, list) {
  const l = el.getElementsByTagName(list)[0];
  return l ? Array.from(l.children).filter((c) => c.tagName === 'member') : [];
}

// all calls a paged IAM List action until its last page and returns every
// <member> of list.
export async function all(action, params, list) {
  const out = [];
  let marker;
  do {
    const r = await query('iam', action, marker ? { ...params, Marker: marker } : params);
    out.push(...members(r, list));
    marker = text(r, 'IsTruncated') === 'true' ? text(r, 'Marker') : undefined;
  } while (marker);
  return out;
}
