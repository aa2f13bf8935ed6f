// The signed-in user's own MFA devices: assign a virtual device (its seed
// shown once, to type or paste into an authenticator app, with two codes
// to prove it), and remove one.
import { members, query, text } from './api.js';
import { act, button, buttons, confirmThen, el, field, form, session, table, when } from './ui.js';

// mfaSection is the section of the "My access keys" page; redraw shows the
// page again. Only an IAM user has MFA devices here.
export async function mfaSection(redraw) {
  const m = /:user\/(?:.*\/)?([^/]+)$/.exec(session.arn);
  if (!m) return [];
  const user = m[1];
  let devices;
  try {
    devices = members(await query('iam', 'ListMFADevices', {}), 'MFADevices');
  } catch (e) {
    // The page's keys still show for a user whose policies cover its keys only.
    return [el('h3', {}, 'MFA devices'), el('p', { class: 'note' }, `Your MFA devices cannot be shown: ${e.code || ''} ${e.message}`)];
  }
  const rows = devices.map((d) => {
    const serial = text(d, 'SerialNumber');
    return el('tr', {}, el('td', {}, el('code', {}, serial)), el('td', {}, when(text(d, 'EnableDate'))),
      el('td', {}, button('Remove', confirmThen(`Remove MFA device ${serial}?`, () => act(async () => {
        await query('iam', 'DeactivateMFADevice', { UserName: user, SerialNumber: serial });
        await query('iam', 'DeleteVirtualMFADevice', { SerialNumber: serial });
      }, redraw)), { 'aria-label': 'Remove ' + serial })));
  });
  const out = [el('h3', {}, 'MFA devices'), table(['Serial number', 'Enabled', ''], rows)];
  const enrol = el('div', { id: 'mfaenrol' });
  out.push(buttons(button('Assign MFA device', () => act(async () => {
    const suffix = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, '0')).join('');
    const created = await query('iam', 'CreateVirtualMFADevice', { VirtualMFADeviceName: `${user}-${suffix}` });
    const serial = text(created, 'SerialNumber');
    const seed = atob(text(created, 'Base32StringSeed'));
    const [l1, c1] = field('First code', { inputmode: 'numeric', maxlength: 6, autocomplete: 'off', required: true });
    const [l2, c2] = field('Second code', { inputmode: 'numeric', maxlength: 6, autocomplete: 'off', required: true });
    enrol.replaceChildren(
      el('p', {}, 'Scan this code with your authenticator app, or type its secret key; both are shown only now.'),
      el('img', { id: 'mfaqr', src: 'data:image/png;base64,' + text(created, 'QRCodePNG'), alt: 'QR code of the MFA secret key', width: 256, height: 256 }),
      el('p', {}, 'Secret key: ', el('code', { id: 'mfaseed' }, seed)),
      form('Enable MFA device', () => act(async () => {
        await query('iam', 'EnableMFADevice', { UserName: user, SerialNumber: serial, AuthenticationCode1: c1.value.trim(), AuthenticationCode2: c2.value.trim() });
        enrol.replaceChildren(); // the seed leaves the page
      }, redraw), el('p', {}, 'Then type two codes in a row:'), l1, c1, l2, c2,
      buttons(el('button', { type: 'submit', class: 'primary' }, 'Enable MFA device'))));
  }))), enrol);
  return out;
}
