// The permissions of a user, group or role: its attached managed policies
// and its inline policies, with the editor to write them.
import { all, query, text } from './api.js';
import { act, button, buttons, confirmThen, el, field, form, link, main, policyEditor, table } from './ui.js';

// The API's names for each kind of entity.
const kinds = {
  user: { Kind: 'User', param: 'UserName' },
  group: { Kind: 'Group', param: 'GroupName' },
  role: { Kind: 'Role', param: 'RoleName' },
};

export const emptyPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::example-bucket/*' }],
}, null, 2);

// permissionsSection lists what is attached to and inline in entity name
// of kind ('user', 'group', 'role'); redraw shows the page again.
export async function permissionsSection(kind, name, redraw) {
  const { Kind, param } = kinds[kind];
  const p = { [param]: name };
  const attached = await all(`ListAttached${Kind}Policies`, p, 'AttachedPolicies');
  const inline = (await all(`List${Kind}Policies`, p, 'PolicyNames')).map((m) => m.textContent);

  const policies = await attachable();
  const choice = el('select', { id: `attach-${kind}` }, policies.map((a) => el('option', { value: a.arn }, a.label)));
  const attachForm = form(`Attach a policy to ${name}`, () => act(() => query('iam', `Attach${Kind}Policy`, { ...p, PolicyArn: choice.value }), redraw),
    el('label', { for: choice.id }, 'Attach a managed policy'), choice,
    buttons(el('button', { type: 'submit' }, 'Attach policy')));

  const inlineRows = inline.map((n) => el('tr', {},
    el('td', {}, n),
    el('td', {},
      button('Edit', () => act(() => editInline(kind, name, n, redraw)), { 'aria-label': `Edit inline policy ${n}` }), ' ',
      button('Delete', confirmThen(`Delete inline policy ${n} of ${name}?`, () => act(() => query('iam', `Delete${Kind}Policy`, { ...p, PolicyName: n }), redraw)),
        { 'aria-label': `Delete inline policy ${n}` }))));

  return [
    el('h3', {}, 'Attached managed policies'),
    table(['Policy', ''], attached.map((a) => el('tr', {},
      el('td', {}, link(text(a, 'PolicyName'), 'policy/' + text(a, 'PolicyArn'))),
      el('td', {}, button('Detach', () => act(() => query('iam', `Detach${Kind}Policy`, { ...p, PolicyArn: text(a, 'PolicyArn') }), redraw),
        { 'aria-label': `Detach ${text(a, 'PolicyName')}` }))))),
    policies.length ? attachForm : el('p', {}, 'No managed policy to attach.'),
    el('h3', {}, 'Inline policies'),
    table(['Policy name', ''], inlineRows),
    buttons(button('Add inline policy', () => act(() => editInline(kind, name, '', redraw)))),
  ];
}

// attachable lists the managed policies one may attach: the account's own
// first, then AWS's.
async function attachable() {
  const local = await all('ListPolicies', { Scope: 'Local' }, 'Policies');
  const aws = await all('ListPolicies', { Scope: 'AWS' }, 'Policies');
  return [...local, ...aws].map((m) => ({ arn: text(m, 'Arn'), label: `${text(m, 'PolicyName')} (${text(m, 'Arn').includes(':aws:policy/') ? 'AWS managed' : 'yours'})` }));
}

// editInline shows the editor for inline policy policyName ('' for a new
// one) of entity name.
async function editInline(kind, name, policyName, back) {
  const { Kind, param } = kinds[kind];
  let doc = emptyPolicy;
  if (policyName) {
    const r = await query('iam', `Get${Kind}Policy`, { [param]: name, PolicyName: policyName });
    doc = JSON.stringify(JSON.parse(decodeURIComponent(text(r, 'PolicyDocument'))), null, 2);
  }
  const [nameLabel, nameInput] = field('Policy name', { required: true, value: policyName, readonly: policyName ? true : undefined });
  const editor = policyEditor('Policy document', doc, 'inline-doc');
  main().replaceChildren(
    el('h2', {}, `${policyName ? 'Edit' : 'Add'} inline policy of ${kind} ${name}`),
    form('Inline policy', () => act(async () => {
      await query('iam', `Put${Kind}Policy`, { [param]: name, PolicyName: nameInput.value, PolicyDocument: editor.checked() });
      await back();
    }), nameLabel, nameInput, ...editor.nodes,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Save policy'), button('Cancel', () => act(back)))));
}
