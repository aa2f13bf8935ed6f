// Managed policies: the account's and AWS's, one policy's page (its
// versions, where it is attached), and the editor that writes them.
import { all, members, query, text } from './api.js';
import { emptyPolicy } from './permissions.js';
import { act, button, buttons, confirmThen, el, field, form, go, link, main, policyEditor, table, when } from './ui.js';

let scope = 'Local';

export async function showPolicies() {
  const policies = await all('ListPolicies', { Scope: scope }, 'Policies');
  const [nameLabel, name] = field('Policy name', { id: 'newpolicy', required: true, pattern: '[\\w+=,.@\\-]+' });
  const [pathLabel, path] = field('Path (optional)', { id: 'newpolicypath', placeholder: '/' });
  const [descLabel, desc] = field('Description (optional)', { id: 'newpolicydesc' });
  const editor = policyEditor('Policy document', emptyPolicy, 'newpolicydoc');
  const scopes = el('div', { class: 'row', role: 'group', 'aria-label': 'Which policies' },
    button('Your policies', () => { scope = 'Local'; act(showPolicies); }, { 'aria-pressed': String(scope === 'Local') }),
    button('AWS managed policies', () => { scope = 'AWS'; act(showPolicies); }, { 'aria-pressed': String(scope === 'AWS') }));
  main().replaceChildren(
    el('h2', {}, 'Policies'), scopes,
    table(['Policy', 'Attachments', 'Updated'], policies.map((p) => el('tr', {},
      el('td', {}, link(text(p, 'PolicyName'), 'policy/' + text(p, 'Arn'))),
      el('td', {}, text(p, 'AttachmentCount')),
      el('td', {}, when(text(p, 'UpdateDate')))))),
    scope === 'Local' ? form('Create policy', () => act(async () => {
      const p = { PolicyName: name.value, PolicyDocument: editor.checked() };
      if (path.value) p.Path = path.value;
      if (desc.value) p.Description = desc.value;
      const r = await query('iam', 'CreatePolicy', p);
      go('policy/' + text(r, 'Arn'));
    }), el('h3', {}, 'Create policy'), nameLabel, name, pathLabel, path, descLabel, desc, ...editor.nodes,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Create policy'))) : '');
}

function pretty(encoded) {
  const s = decodeURIComponent(encoded);
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch { return s; }
}

export async function showPolicy(arn, shownVersion) {
  const redraw = () => showPolicy(arn);
  const p = (await query('iam', 'GetPolicy', { PolicyArn: arn })).getElementsByTagName('Policy')[0];
  const isAWS = arn.includes(':aws:policy/');
  const def = text(p, 'DefaultVersionId');
  const versions = members(await query('iam', 'ListPolicyVersions', { PolicyArn: arn }), 'Versions');
  const version = shownVersion || def;
  const doc = pretty(text((await query('iam', 'GetPolicyVersion', { PolicyArn: arn, VersionId: version })), 'Document'));
  const entities = await query('iam', 'ListEntitiesForPolicy', { PolicyArn: arn });
  const attached = [
    ...members(entities, 'PolicyUsers').map((m) => ['user', text(m, 'UserName')]),
    ...members(entities, 'PolicyGroups').map((m) => ['group', text(m, 'GroupName')]),
    ...members(entities, 'PolicyRoles').map((m) => ['role', text(m, 'RoleName')]),
  ];
  const api = { user: ['User', 'UserName'], group: ['Group', 'GroupName'], role: ['Role', 'RoleName'] };
  const detach = (kind, n) => act(() => query('iam', `Detach${api[kind][0]}Policy`, { [api[kind][1]]: n, PolicyArn: arn }), redraw);
  const kind = el('select', { id: 'attachkind' }, ['user', 'group', 'role'].map((k) => el('option', { value: k }, k)));
  const [whoLabel, who] = field('Name', { id: 'attachname', required: true });
  const editor = policyEditor('New version', doc, 'newversion');
  const makeDefault = el('input', { type: 'checkbox', id: 'setdefault', checked: true });

  main().replaceChildren(
    el('h2', {}, 'Policy ' + text(p, 'PolicyName')),
    el('dl', { class: 'summary' },
      el('dt', {}, 'ARN'), el('dd', {}, el('code', {}, arn)),
      el('dt', {}, 'Description'), el('dd', {}, text(p, 'Description') || 'none'),
      el('dt', {}, 'Default version'), el('dd', {}, def),
      el('dt', {}, 'Updated'), el('dd', {}, when(text(p, 'UpdateDate')))),
    el('h3', {}, `Document (version ${version}${version === def ? ', the default' : ''})`),
    el('pre', { class: 'policy', tabindex: 0, 'aria-label': `Policy document, version ${version}` }, doc),
    el('h3', {}, 'Versions'),
    table(['Version', 'Default', 'Created', ''], versions.map((v) => {
      const id = text(v, 'VersionId'), isDef = text(v, 'IsDefaultVersion') === 'true';
      return el('tr', {},
        el('td', {}, id), el('td', {}, isDef ? 'yes' : ''), el('td', {}, when(text(v, 'CreateDate'))),
        el('td', {},
          button('View', () => act(() => showPolicy(arn, id)), { 'aria-label': `View version ${id}` }), ' ',
          isDef || isAWS ? '' : [
            button('Set as default', () => act(() => query('iam', 'SetDefaultPolicyVersion', { PolicyArn: arn, VersionId: id }), redraw), { 'aria-label': `Make ${id} the default` }), ' ',
            button('Delete', confirmThen(`Delete version ${id}?`, () => act(() => query('iam', 'DeletePolicyVersion', { PolicyArn: arn, VersionId: id }), redraw)), { 'aria-label': `Delete version ${id}` }),
          ]));
    })),
    isAWS ? '' : form('New policy version', () => act(() => query('iam', 'CreatePolicyVersion',
      { PolicyArn: arn, PolicyDocument: editor.checked(), ...(makeDefault.checked ? { SetAsDefault: 'true' } : {}) }), redraw),
    el('h3', {}, 'Edit: a new version'),
    el('p', {}, 'A policy keeps up to five versions; delete one to make room.'),
    ...editor.nodes,
    el('div', { class: 'row' }, makeDefault, el('label', { for: 'setdefault', class: 'inline' }, 'Make it the default version')),
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Save new version'))),
    el('h3', {}, 'Attached to'),
    table(['Kind', 'Name', ''], attached.map(([k, n]) => el('tr', {},
      el('td', {}, k), el('td', {}, link(n, `${k}/${n}`)),
      el('td', {}, button('Detach', () => detach(k, n), { 'aria-label': `Detach from ${k} ${n}` }))))),
    form('Attach this policy', () => act(() => query('iam', `Attach${api[kind.value][0]}Policy`, { [api[kind.value][1]]: who.value, PolicyArn: arn }), redraw),
      el('label', { for: 'attachkind' }, 'Attach to a'), kind, whoLabel, who,
      buttons(el('button', { type: 'submit' }, 'Attach'))),
    isAWS ? '' : buttons(button('Delete policy', confirmThen(`Delete policy ${text(p, 'PolicyName')}? It must be detached everywhere first.`, () => act(async () => {
      for (const v of versions) {
        if (text(v, 'IsDefaultVersion') !== 'true') await query('iam', 'DeletePolicyVersion', { PolicyArn: arn, VersionId: text(v, 'VersionId') });
      }
      await query('iam', 'DeletePolicy', { PolicyArn: arn });
      go('policies');
    })))));
}
