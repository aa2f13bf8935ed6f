// End-to-end tests of iamd's console: playwright-core driving Debian's
// chromium against the iamd binary named by $IAMD_BIN. Run from the
// repository (after `npm ci --prefix e2e/console`):
//
//   IAMD_BIN=/path/to/iamd node e2e/console/console_test.mjs
//
// With IAMD_SCREENSHOTS=1, screenshots of the main pages go to docs/;
// otherwise the tree is left as it was.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import net from 'node:net';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { createHmac } from 'node:crypto';

// totp is the six-digit code of a base32 seed at a 30-second step, as an
// authenticator app computes it (RFC 6238).
function totp(b32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of b32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const seed = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', seed).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30000);

const repo = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const rootID = 'AKIAROOTROOTROOT0001', rootSecret = 'rootsecretrootsecretrootsecretrootsecre1';

function freePort() {
  return new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

async function startIamd(...extra) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'iamd-console-'));
  const proc = spawn(process.env.IAMD_BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--account-id', '123456789012', ...extra], {
    env: { PATH: process.env.PATH, IAMD_ROOT_ACCESS_KEY_ID: rootID, IAMD_ROOT_SECRET_ACCESS_KEY: rootSecret }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  // Ready once /readyz answers 200, never when the port merely accepts.
  for (let i = 0; i < 400; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) {
      return { url: `http://127.0.0.1:${port}`, proc, log: () => log };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('iamd did not start: ' + log);
}

// startIssuer runs the independent OpenID Connect issuer of e2e/oidc over
// HTTPS with a certificate of its own; it returns its URL, the
// certificate's SHA-1 thumbprint and the process.
async function startIssuer() {
  const dir = mkdtempSync(join(tmpdir(), 'iamd-issuer-'));
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const fp = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha1'], { encoding: 'utf8' });
  const thumbprint = fp.split('=')[1].trim().replace(/:/g, '').toLowerCase();
  const proc = spawn('node', [join(repo, 'e2e', 'oidc', 'issuer.mjs')], { env: { ...process.env, OIDC_CERT: cert, OIDC_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
    proc.on('exit', () => reject(new Error('the issuer did not start: ' + err)));
  });
  return { url, thumbprint, proc };
}

// boto3 runs a snippet with the key given, against url; it returns stdout.
function boto3(url, id, secret, code) {
  return execFileSync('python3', ['-c', `
import sys, boto3, botocore.config
cfg = botocore.config.Config(retries={"max_attempts": 1})
c = lambda s: boto3.client(s, endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], config=cfg)
${code}`, url, id, secret], { encoding: 'utf8' });
}

function parseRequest(txt) {
  const [head, ...rest] = txt.split('\n\n');
  const lines = head.split('\n');
  const [method, target] = lines[0].split(' ');
  const headers = {};
  for (const l of lines.slice(1).filter(Boolean)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).toLowerCase(), v = l.slice(i + 1);
    headers[k] = k in headers ? headers[k] + ',' + v.trim() : v;
  }
  const q = target.indexOf('?');
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers, body: rest.join('\n\n') };
}

const VECTORS = ['get-vanilla', 'get-vanilla-query', 'get-vanilla-query-order-key-case', 'get-vanilla-query-order-encoded',
  'get-vanilla-query-unreserved', 'get-vanilla-empty-query-key', 'get-vanilla-utf8-query', 'get-unreserved', 'get-header-value-trim',
  'get-header-key-duplicate', 'post-vanilla', 'post-vanilla-query', 'post-header-key-case', 'post-header-key-sort',
  'post-header-value-case', 'post-x-www-form-urlencoded', 'post-x-www-form-urlencoded-parameters'];

const shoot = (page, name, opts = {}) => (process.env.IAMD_SCREENSHOTS === '1' ? page.screenshot({ path: join(repo, 'docs', name), ...opts }) : null);

async function main() {
  const iamd = await startIamd();
  let iamd2, issuer;
  const browser = await chromium.launch({ executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(), headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const results = [];
  const step = async (name, fn) => { try { await fn(); results.push(['ok', name]); } catch (e) { results.push(['FAIL', name, e]); throw e; } };
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const requests = [], responses = [], problems = [];
    page.on('request', (r) => requests.push(r));
    page.on('response', async (r) => { try { responses.push({ url: r.url(), body: await r.text() }); } catch { /* redirects have no body */ } });
    // The API's refusals the test provokes show as failed loads; anything
    // else logged as an error (a script error, a CSP violation) is a problem.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));

    let resp;
    await step('the console is served with strict security headers', async () => {
      resp = await page.goto(iamd.url + '/console/');
      const h = resp.headers();
      assert.match(h['content-security-policy'], /script-src 'self'/);
      assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
      assert.doesNotMatch(h['content-security-policy'], /unsafe-inline/);
      assert.equal(h['x-content-type-options'], 'nosniff');
    });

    await step("the browser signer matches AWS's SigV4 test suite", async () => {
      const suite = join(repo, '..', 'shared', 'testdata', 'aws-signing-test-suite', 'v4');
      for (const v of VECTORS) {
        const req = parseRequest(readFileSync(join(suite, v, 'request.txt'), 'utf8'));
        const ctx = JSON.parse(readFileSync(join(suite, v, 'context.json'), 'utf8'));
        const want = readFileSync(join(suite, v, 'header-signature.txt'), 'utf8').trim();
        const got = await page.evaluate(async ({ req, ctx }) => {
          const { sign, sha256Hex } = await import('./sigv4.js');
          const headers = { ...req.headers, 'x-amz-date': '20150830T123600Z' };
          if (ctx.sign_body) headers['x-amz-content-sha256'] = await sha256Hex(req.body);
          const auth = await sign({ method: req.method, path: req.path, query: req.query, headers, body: req.body,
            accessKeyId: ctx.credentials.access_key_id, secretAccessKey: ctx.credentials.secret_access_key,
            region: ctx.region, service: ctx.service, date: '20150830T123600Z' });
          return auth.split('Signature=')[1];
        }, { req, ctx });
        assert.equal(got, want, v);
      }
    });

    await step('before sign-in only the form shows: no menu, no sign-out', async () => {
      await page.getByRole('heading', { name: 'Sign in with an access key' }).waitFor();
      assert.equal(await page.locator('#nav').isVisible(), false, 'the menu shows before sign-in');
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false, 'Sign out shows before sign-in');
      assert.equal(await page.getByRole('button', { name: 'Users' }).isVisible(), false);
      await page.goto(iamd.url + '/console/#users'); // a page's address before sign-in: still the form, and no error
      await page.getByLabel('Access key ID').waitFor();
      assert.equal(await page.getByRole('alert').textContent(), '');
      assert.deepEqual(problems, []);
    });
    await step("a browser at the server's address is sent to the console", async () => {
      const r = await page.goto(iamd.url + '/');
      assert.equal(new URL(r.url()).pathname, '/console/');
      await page.getByLabel('Access key ID').waitFor();
    });
    await shoot(page, 'console-signin.png');
    await step('sign in with the root key; the console shows who you are', async () => {
      await page.getByLabel('Access key ID').fill(rootID);
      await page.getByLabel('Secret access key').fill(rootSecret);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByText('Signed in as arn:aws:iam::123456789012:root').waitFor();
    });

    await step('create a user with a path and tags', async () => {
      await page.getByLabel('User name').fill('webuser');
      await page.getByLabel('Path (optional)').fill('/web/');
      await page.getByLabel('Tags (optional)').fill('team=web');
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByRole('link', { name: 'webuser', exact: true }).waitFor();
      await shoot(page, 'console-users.png');
    });

    let keyID, secret;
    await step('create a key: the secret once, in the dialog and the .csv', async () => {
      await page.getByRole('link', { name: 'webuser', exact: true }).click();
      await page.getByRole('heading', { name: 'User webuser' }).waitFor();
      await page.getByRole('button', { name: 'Create access key' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.getByText('This is the only time the secret access key can be viewed or downloaded').waitFor();
      keyID = await page.locator('#newkeyid').textContent();
      secret = await page.locator('#newsecret').textContent();
      assert.match(keyID, /^AKIA[A-Z2-7]{16}$/);
      assert.match(secret, /^[A-Za-z0-9+/]{40}$/);
      await shoot(page, 'console-secret.png');
      const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('link', { name: 'Download .csv file' }).click()]);
      const csv = readFileSync(await download.path(), 'utf8');
      assert.equal(csv, `Access key ID,Secret access key\n${keyID},${secret}\n`);
      await dialog.getByRole('button', { name: 'Done' }).click();
    });

    await step('the secret is nowhere once the dialog is closed', async () => {
      const state = await page.evaluate(() => ({ ls: localStorage.length, ss: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));
      assert.equal(state.ls, 0);
      assert.equal(state.ss, 0);
      assert.equal(state.cookie, '');
      assert.ok(!state.html.includes(secret), 'the secret is still in the DOM');
      assert.ok(!state.html.includes(rootSecret), 'the root secret is in the DOM');
      for (const r of requests) {
        const all = r.url() + JSON.stringify(r.headers()) + (r.postData() || '');
        assert.ok(!all.includes(secret) && !all.includes(rootSecret), 'a secret went out in a request to ' + r.url());
      }
      const holding = responses.filter((r) => r.body.includes(secret));
      assert.equal(holding.length, 1, 'the secret is in more than the CreateAccessKey answer');
      assert.match(holding[0].body, /<CreateAccessKeyResponse/);
      assert.equal((await context.cookies()).length, 0);
    });

    await step('the key works from boto3, and is refused once deactivated in the console', async () => {
      assert.match(boto3(iamd.url, keyID, secret, 'print(c("sts").get_caller_identity()["Arn"])'), /user\/web\/webuser/);
      await page.getByRole('button', { name: `Deactivate ${keyID}` }).click();
      await page.getByRole('button', { name: `Activate ${keyID}` }).waitFor();
      assert.throws(() => boto3(iamd.url, keyID, secret, 'c("sts").get_caller_identity()'), /InvalidClientTokenId/);
      await shoot(page, 'console-user.png');
    });

    await step('delete the key with confirmation', async () => {
      page.once('dialog', (d) => d.accept());
      await page.getByRole('button', { name: `Delete ${keyID}` }).click();
      await page.getByRole('button', { name: `Delete ${keyID}` }).waitFor({ state: 'detached' });
    });

    await step('the two-key limit, explained and refused with the API\'s message', async () => {
      for (let i = 0; i < 2; i++) {
        await page.getByRole('button', { name: 'Create access key' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      }
      await page.getByText('A user may have at most two access keys').waitFor();
      await page.getByRole('button', { name: 'Create access key' }).click();
      await page.getByRole('alert').getByText('LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2').waitFor();
    });

    await step('a group: create it, add a member', async () => {
      await page.getByRole('button', { name: 'Groups' }).click();
      await page.getByLabel('Group name').fill('photo-readers');
      await page.getByRole('button', { name: 'Create group' }).click();
      await page.getByRole('heading', { name: 'Group photo-readers' }).waitFor();
      await page.getByLabel('Add a user by name').fill('webuser');
      await page.getByRole('button', { name: 'Add user' }).click();
      await page.getByRole('button', { name: 'Remove webuser from photo-readers' }).waitFor();
    });

    const readPhotos = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' }] }, null, 2);
    await step("a managed policy written in the editor: JSON checked as typed, the API's refusal shown", async () => {
      await page.getByRole('button', { name: 'Policies' }).click();
      await page.getByLabel('Policy name').fill('ReadPhotos');
      const editor = page.getByLabel('Policy document');
      await editor.fill('{"Version": "2012-10-17", "Statement": [');
      await page.getByText(/^Not valid JSON: .*line 1/).waitFor();
      await editor.fill(readPhotos.replace('"Allow"', '"Perhaps"'));
      await page.getByText('Valid JSON.').waitFor();
      await page.getByRole('button', { name: 'Create policy' }).click();
      await page.getByRole('alert').getByText(/^MalformedPolicyDocument: .*Perhaps/).waitFor();
      await editor.fill(readPhotos);
      await page.getByRole('button', { name: 'Format JSON' }).click();
      await page.getByRole('button', { name: 'Create policy' }).click();
      await page.getByRole('heading', { name: 'Policy ReadPhotos' }).waitFor();
      await page.getByText('arn:aws:iam::123456789012:policy/ReadPhotos', { exact: true }).waitFor();
      await shoot(page, 'console-policy.png', { fullPage: true });
    });

    const simulate = async (want) => {
      await page.getByRole('link', { name: "Simulate this user's permissions" }).click();
      await page.getByRole('heading', { name: 'Policy simulator' }).waitFor();
      assert.equal(await page.getByLabel('Principal ARN (user, group or role)').inputValue(), 'arn:aws:iam::123456789012:user/web/webuser');
      await page.getByLabel('Actions (comma-separated)').fill('s3:GetObject, s3:PutObject');
      await page.getByLabel('Resource ARN').fill('arn:aws:s3:::photos/cat.jpg');
      await page.getByRole('button', { name: 'Simulate' }).click();
      await page.getByText(`s3:GetObject on arn:aws:s3:::photos/cat.jpg: ${want}; s3:PutObject on arn:aws:s3:::photos/cat.jpg: implicitDeny`).waitFor();
    };
    await step("attach the policy to the group; the user's decision changes in the simulator", async () => {
      await page.getByLabel('Attach to a').selectOption('group');
      await page.getByLabel('Name', { exact: true }).fill('photo-readers');
      await page.getByRole('button', { name: 'Attach', exact: true }).click();
      await page.getByRole('button', { name: 'Detach from group photo-readers' }).waitFor();
      await page.goto(iamd.url + '/console/#user/webuser');
      await page.getByRole('heading', { name: 'User webuser' }).waitFor();
      await simulate('allowed');
      await page.goto(iamd.url + '/console/#group/photo-readers');
      await page.getByRole('button', { name: 'Detach ReadPhotos' }).click();
      await page.getByRole('button', { name: 'Detach ReadPhotos' }).waitFor({ state: 'detached' });
      await page.goto(iamd.url + '/console/#user/webuser');
      await page.getByRole('heading', { name: 'User webuser' }).waitFor();
      await simulate('implicitDeny');
    });

    await step('a new version of the policy, made the default', async () => {
      await page.goto(iamd.url + '/console/#policy/arn:aws:iam::123456789012:policy/ReadPhotos');
      await page.getByRole('heading', { name: 'Policy ReadPhotos' }).waitFor();
      await page.getByLabel('New version').fill(readPhotos.replace('photos/*', 'photos/public/*'));
      await page.getByRole('button', { name: 'Save new version' }).click();
      await page.getByRole('heading', { name: 'Document (version v2, the default)' }).waitFor();
      await page.getByRole('button', { name: 'Make v1 the default' }).click();
      await page.getByRole('heading', { name: 'Document (version v1, the default)' }).waitFor();
    });

    await step('a role: trust policy and session duration in the console, assumed from boto3', async () => {
      const assumer = boto3(iamd.url, rootID, rootSecret, `
iam = c("iam")
iam.create_user(UserName="assumer")
k = iam.create_access_key(UserName="assumer")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])`).trim().split(' ');
      await page.getByRole('button', { name: 'Roles' }).click();
      await page.getByLabel('Role name').fill('deployer');
      await page.getByLabel('Maximum session duration (seconds)').fill('7200');
      const trust = page.getByLabel('Trust policy (who may assume the role)');
      assert.match(await trust.inputValue(), /arn:aws:iam::123456789012:root/);
      await trust.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:iam::123456789012:user/assumer' } }] }));
      await page.getByRole('button', { name: 'Create role' }).click();
      await page.getByRole('heading', { name: 'Role deployer' }).waitFor();
      assert.equal(await page.getByLabel('Maximum session duration (seconds)').inputValue(), '7200');
      await page.getByLabel('Attach a managed policy').selectOption({ label: 'ReadPhotos (yours)' });
      await page.getByRole('button', { name: 'Attach policy' }).click();
      await page.getByRole('button', { name: 'Detach ReadPhotos' }).waitFor();
      const out = boto3(iamd.url, assumer[0], assumer[1], `
r = c("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/deployer", RoleSessionName="from-boto3", DurationSeconds=7200)["Credentials"]
s = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=r["AccessKeyId"], aws_secret_access_key=r["SecretAccessKey"], aws_session_token=r["SessionToken"])
print(s.get_caller_identity()["Arn"])`);
      assert.match(out, /arn:aws:sts::123456789012:assumed-role\/deployer\/from-boto3/);
      // The trust policy edited in the console: assumer no longer trusted.
      await page.getByLabel('Trust policy', { exact: true }).fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:iam::123456789012:root' } }] }));
      await page.getByRole('button', { name: 'Save trust policy' }).click();
      await page.getByRole('heading', { name: 'Role deployer' }).waitFor();
      assert.throws(() => boto3(iamd.url, assumer[0], assumer[1], 'c("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/deployer", RoleSessionName="again")'), /AccessDenied/);
    });

    await step('a self-service user manages only its own keys', async () => {
      const out = boto3(iamd.url, rootID, rootSecret, `
iam = c("iam")
iam.create_user(UserName="selfie")
iam.attach_user_policy(UserName="selfie", PolicyArn="arn:aws:iam::aws:policy/IAMSelfManageAccessKeys")
k = iam.create_access_key(UserName="selfie")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])`).trim().split(' ');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access key ID').fill(out[0]);
      await page.getByLabel('Secret access key').fill(out[1]);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByText('Signed in as arn:aws:iam::123456789012:user/selfie').waitFor();
      await page.getByRole('alert').getByText('AccessDenied: User: arn:aws:iam::123456789012:user/selfie is not authorized to perform: iam:ListUsers').waitFor();
      await page.getByLabel('Open a user by name').fill('webuser');
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await page.getByRole('alert').getByText('AccessDenied: User: arn:aws:iam::123456789012:user/selfie is not authorized to perform: iam:ListAccessKeys on resource: user webuser').waitFor();
      await page.getByRole('button', { name: 'My access keys' }).click();
      await page.getByRole('heading', { name: 'My access keys' }).waitFor();
      await page.getByRole('button', { name: `Deactivate ${out[0]}` }).waitFor();
    });

    await step('buckets and their once-only keys; a narrow window', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access key ID').fill(rootID);
      await page.getByLabel('Secret access key').fill(rootSecret);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Buckets' }).click();
      await page.getByLabel('Bucket name').fill('photos');
      await page.getByRole('button', { name: 'Create bucket' }).click();
      await page.getByRole('heading', { name: 'photos' }).waitFor();
      await page.getByRole('button', { name: 'Create bucket key' }).click();
      await page.getByRole('dialog').getByText('This is the only time').waitFor();
      await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      await page.setViewportSize({ width: 380, height: 800 });
      await shoot(page, 'console-buckets-narrow.png', { fullPage: true });
      await page.setViewportSize({ width: 1100, height: 800 });
    });

    await step('switch role into an account of the organization, and back', async () => {
      const [orgID, orgSecret, acct] = boto3(iamd.url, rootID, rootSecret, `
iam = c("iam")
iam.create_user(UserName="orgadmin")
iam.attach_user_policy(UserName="orgadmin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
k = iam.create_access_key(UserName="orgadmin")["AccessKey"]
org = boto3.client("organizations", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"], config=cfg)
org.create_organization(FeatureSet="ALL")
a = org.create_account(Email="tenant@example.com", AccountName="tenant")["CreateAccountStatus"]["AccountId"]
print(k["AccessKeyId"], k["SecretAccessKey"], a)`).trim().split(' ');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access key ID').fill(orgID);
      await page.getByLabel('Secret access key').fill(orgSecret);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByText('Account 123456789012').waitFor();
      await page.locator('header').getByRole('button', { name: 'Switch role' }).click();
      await page.getByLabel('Account to switch to').fill(acct);
      await page.locator('#switchform').getByRole('button', { name: 'Switch role' }).click();
      await page.getByText(`Signed in as arn:aws:sts::${acct}:assumed-role/OrganizationAccountAccessRole/console`).waitFor();
      await page.getByText(`Account ${acct}`).waitFor();
      await page.getByLabel('User name').fill('tenant-user');
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByRole('link', { name: 'tenant-user' }).waitFor();
      assert.throws(() => boto3(iamd.url, orgID, orgSecret, 'c("iam").get_user(UserName="tenant-user")'), /NoSuchEntity/);
      await page.getByRole('button', { name: 'Switch back' }).click();
      await page.getByText('Signed in as arn:aws:iam::123456789012:user/orgadmin').waitFor();
      await page.getByText('Account 123456789012').waitFor();
    });

    // People: a password, a forced change, an MFA device enrolled from the
    // console, and the code at the next sign-in.
    boto3(iamd.url, rootID, rootSecret, `
import json
iam = c("iam")
iam.create_user(UserName="person")
iam.put_user_policy(UserName="person", PolicyName="all", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}))
iam.create_login_profile(UserName="person", Password="First-Pass-123", PasswordResetRequired=True)`);
    const pwContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const pw = await pwContext.newPage();
    const pwRequests = [];
    pw.on('request', (r) => pwRequests.push(r));
    const signInWith = async (user, password) => {
      await pw.getByLabel('Account ID').fill('123456789012');
      await pw.getByLabel('User name').fill(user);
      await pw.getByLabel('Password', { exact: true }).fill(password);
      await pw.getByRole('button', { name: 'Sign in with password' }).click();
    };
    let seed;
    await step('a wrong password and an unknown user look the same', async () => {
      await pw.goto(iamd.url + '/console/');
      await signInWith('person', 'wrong-password');
      await pw.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor();
      const wrong = await pw.getByRole('alert').textContent();
      await pw.evaluate(() => { document.getElementById('error').textContent = ''; });
      await signInWith('nobody-at-all', 'wrong-password');
      await pw.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor();
      assert.equal(await pw.getByRole('alert').textContent(), wrong);
    });
    await step('sign in with a password; the forced change; the password is nowhere after', async () => {
      await signInWith('person', 'First-Pass-123');
      await pw.getByLabel('New password (your password must be changed)').fill('Second-Pass-456');
      await pw.getByRole('button', { name: 'Sign in with password' }).click();
      await pw.getByText('Signed in as arn:aws:iam::123456789012:user/person').waitFor();
      const state = await pw.evaluate(() => ({ ls: localStorage.length, ss: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));
      assert.deepEqual([state.ls, state.ss, state.cookie], [0, 0, '']);
      for (const secret of ['First-Pass-123', 'Second-Pass-456']) {
        assert.ok(!state.html.includes(secret), 'a password in the DOM');
        for (const r of pwRequests) {
          const all = r.url() + JSON.stringify(r.headers()) + (r.postData() || '');
          if (all.includes(secret)) assert.equal(new URL(r.url()).pathname, '/console/signin', 'a password went to ' + r.url());
        }
      }
    });
    await step('enrol an MFA device from the console, with codes computed here', async () => {
      await pw.getByRole('button', { name: 'My access keys' }).click();
      await pw.getByRole('button', { name: 'Assign MFA device' }).click();
      seed = (await pw.locator('#mfaseed').textContent()).trim();
      assert.match(seed, /^[A-Z2-7]{32}$/);
      // The QR code decodes as a PNG the browser draws at full size.
      assert.equal(await pw.locator('#mfaqr').evaluate((img) => img.complete && img.naturalWidth), 256);
      const n = stepNow();
      await pw.getByLabel('First code').fill(totp(seed, n - 2));
      await pw.getByLabel('Second code').fill(totp(seed, n - 1));
      await pw.getByRole('button', { name: 'Enable MFA device' }).click();
      await pw.getByRole('button', { name: /^Remove arn:aws:iam::123456789012:mfa\/person-/ }).waitFor();
      const html = await pw.evaluate(() => document.documentElement.outerHTML);
      assert.ok(!html.includes(seed), 'the seed stays on the page');
      assert.ok(!html.includes('data:image/png'), 'the QR code stays on the page');
    });
    await step('sign out, sign in again with password and code', async () => {
      await pw.getByRole('button', { name: 'Sign out' }).click();
      await signInWith('person', 'Second-Pass-456');
      await pw.getByLabel('MFA code').fill(totp(seed, stepNow()));
      await pw.getByRole('button', { name: 'Sign in with password' }).click();
      await pw.getByText('Signed in as arn:aws:iam::123456789012:user/person').waitFor();
    });
    await pwContext.close();

    await step('the policy simulator, and keyboard use', async () => {
      await page.getByRole('button', { name: 'Policy simulator' }).click();
      await page.getByLabel('Principal ARN (user, group or role)').fill('arn:aws:iam::123456789012:user/selfie');
      await page.getByLabel('Actions (comma-separated)').fill('iam:CreateAccessKey');
      await page.getByLabel('Resource ARN').fill('arn:aws:iam::123456789012:user/webuser');
      await page.getByLabel('Resource ARN').press('Enter');
      await page.getByText('iam:CreateAccessKey on arn:aws:iam::123456789012:user/webuser: implicitDeny').waitFor();
    });

    await step('no script error and no policy violation on any page', async () => {
      assert.deepEqual(problems, []);
    });

    // People sign in through the deployment's identity provider: an iamd
    // whose console offers oauth2-mock-server (npm), a role that trusts it.
    issuer = await startIssuer();
    const sso = await startIamd('--console-oidc-issuer', issuer.url, '--console-oidc-client-id', 'iamd-console',
      '--console-oidc-role', 'arn:aws:iam::123456789012:role/console-admin', '--console-oidc-name', 'Example SSO');
    iamd2 = sso;
    const host = issuer.url.replace('https://', '');
    boto3(sso.url, rootID, rootSecret, `
import json
iam = c("iam")
iam.create_open_id_connect_provider(Url="${issuer.url}", ClientIDList=["iamd-console"], ThumbprintList=["${issuer.thumbprint}"])
iam.create_role(RoleName="console-admin", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/${host}"}, "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"${host}:aud": "iamd-console", "${host}:sub": "johndoe"}}}]}))
iam.put_role_policy(RoleName="console-admin", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]}))
iam.create_user(UserName="visible-to-sso")`);
    // The issuer's certificate is its own: the browser is told to accept it,
    // as iamd is told by the thumbprint.
    const ssoContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } });
    const p2 = await ssoContext.newPage();
    const req2 = [], resp2 = [], problems2 = [];
    p2.on('request', (r) => req2.push(r));
    p2.on('response', async (r) => { try { resp2.push({ url: r.url(), body: await r.text() }); } catch { /* redirects */ } });
    p2.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems2.push(m.text()); });
    p2.on('pageerror', (e) => problems2.push(String(e)));
    await step('sign in with the identity provider: PKCE, then a role session', async () => {
      const r = await p2.goto(sso.url + '/console/');
      assert.match(r.headers()['content-security-policy'], new RegExp(`connect-src 'self' ${issuer.url.replace(/[.]/g, '\\.')};`));
      await p2.getByRole('button', { name: 'Sign in with Example SSO', exact: true }).click();
      await p2.getByText('Signed in as arn:aws:sts::123456789012:assumed-role/console-admin/johndoe').waitFor();
      assert.equal(new URL(p2.url()).search, '', 'the code stays in the address bar');
      const authorize = req2.find((q) => q.url().startsWith(issuer.url + '/authorize'));
      const q = new URL(authorize.url()).searchParams;
      assert.equal(q.get('code_challenge_method'), 'S256');
      assert.equal(q.get('client_id'), 'iamd-console');
      assert.equal(q.get('redirect_uri'), sso.url + '/console/');
      await p2.getByRole('button', { name: 'Users' }).click();
      await p2.getByRole('link', { name: 'visible-to-sso' }).waitFor();
    });
    await step("the role's session decides: a write it lacks is refused", async () => {
      await p2.getByLabel('User name').fill('not-allowed');
      await p2.getByRole('button', { name: 'Create user' }).click();
      await p2.getByText(/^AccessDenied: /).waitFor();
    });
    await step('the session and the ID token are nowhere but in memory', async () => {
      const answer = resp2.find((r) => r.body.includes('<AssumeRoleWithWebIdentityResponse'));
      assert.ok(answer, 'no AssumeRoleWithWebIdentity answer');
      const secret = answer.body.match(/<SecretAccessKey>([^<]+)</)[1];
      const idToken = resp2.find((r) => r.url.startsWith(issuer.url + '/token')).body.match(/"id_token":"([^"]+)"/)[1];
      const state = await p2.evaluate(() => ({ ls: localStorage.length, ss: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));
      assert.deepEqual([state.ls, state.ss, state.cookie], [0, 0, '']);
      assert.ok(!state.html.includes(secret) && !state.html.includes(idToken), 'a secret is in the DOM');
      for (const r of req2) {
        const all = r.url() + JSON.stringify(r.headers()) + (r.postData() || '');
        assert.ok(!all.includes(secret), 'the session secret went out to ' + r.url());
        if (all.includes(idToken)) assert.match(r.postData() || '', /^Action=AssumeRoleWithWebIdentity&/, 'the ID token went to ' + r.url());
      }
      assert.equal((await ssoContext.cookies(sso.url)).length, 0);
      assert.deepEqual(problems2, []);
    });
  } finally {
    await browser.close();
    iamd.proc.kill();
    iamd2?.proc.kill();
    issuer?.proc.kill();
    for (const [status, name, err] of results) console.log(`${status} ${name}${err ? ': ' + err.message : ''}`);
    const failed = results.filter((r) => r[0] !== 'ok').length;
    console.log(`console: ${results.length - failed} passed, ${failed} failed`);
    if (failed) process.exitCode = 1;
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
