// Roles: the list, one role's page (trust policy, session duration,
// permissions).
import { all, query, text } from './api.js';
import { permissionsSection } from './permissions.js';
import { act, button, buttons, confirmThen, el, field, form, go, link, main, policyEditor, session, table, when } from './ui.js';

function trustTemplate() {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${session.account}:root` }, Action: 'sts:AssumeRole' }],
  }, null, 2);
}

export async function showRoles() {
  const roles = await all('ListRoles', {}, 'Roles');
  const [nameLabel, name] = field('Role name', { id: 'newrole', required: true, pattern: '[\\w+=,.@\\-]+' });
  const [pathLabel, path] = field('Path (optional)', { id: 'newrolepath', placeholder: '/' });
  const [descLabel, desc] = field('Description (optional)', { id: 'newroledesc' });
  const [maxLabel, max] = field('Maximum session duration (seconds)', { id: 'newrolemax', type: 'number', min: 3600, max: 43200, value: 3600 });
  const trust = policyEditor('Trust policy (who may assume the role)', trustTemplate(), 'newroletrust');
  main().replaceChildren(
    el('h2', {}, 'Roles'),
    table(['Role', 'Path', 'Created', ''], roles.map((r) => {
      const n = text(r, 'RoleName');
      return el('tr', {},
        el('td', {}, link(n, 'role/' + n)), el('td', {}, text(r, 'Path')), el('td', {}, when(text(r, 'CreateDate'))),
        el('td', {}, button('Delete', confirmThen(`Delete role ${n}? Its policies must be detached and deleted first.`,
          () => act(() => query('iam', 'DeleteRole', { RoleName: n }), showRoles)), { 'aria-label': 'Delete role ' + n })));
    })),
    form('Create role', () => act(async () => {
      const p = { RoleName: name.value, AssumeRolePolicyDocument: trust.checked(), MaxSessionDuration: max.value };
      if (path.value) p.Path = path.value;
      if (desc.value) p.Description = desc.value;
      await query('iam', 'CreateRole', p);
      go('role/' + name.value);
    }), el('h3', {}, 'Create role'), nameLabel, name, pathLabel, path, descLabel, desc, maxLabel, max, ...trust.nodes,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Create role'))));
}

export async function showRole(name) {
  const redraw = () => showRole(name);
  const r = (await query('iam', 'GetRole', { RoleName: name })).getElementsByTagName('Role')[0];
  const arn = text(r, 'Arn');
  const trust = policyEditor('Trust policy', JSON.stringify(JSON.parse(decodeURIComponent(text(r, 'AssumeRolePolicyDocument'))), null, 2), 'roletrust');
  const [descLabel, desc] = field('Description', { id: 'roledesc', value: text(r, 'Description') });
  const [maxLabel, max] = field('Maximum session duration (seconds)', { id: 'rolemax', type: 'number', min: 3600, max: 43200, value: text(r, 'MaxSessionDuration') });
  const perms = await permissionsSection('role', name, redraw);
  main().replaceChildren(
    el('h2', {}, 'Role ' + text(r, 'RoleName')),
    el('dl', { class: 'summary' },
      el('dt', {}, 'ARN'), el('dd', {}, el('code', {}, arn)),
      el('dt', {}, 'Path'), el('dd', {}, text(r, 'Path')),
      el('dt', {}, 'Created'), el('dd', {}, when(text(r, 'CreateDate')))),
    buttons(link('Simulate this role\'s permissions', 'simulate/' + arn, { class: 'button' }),
      button('Delete role', confirmThen(`Delete role ${name}?`, () => act(async () => {
        await query('iam', 'DeleteRole', { RoleName: name });
        go('roles');
      })))),
    form('Role settings', () => act(() => query('iam', 'UpdateRole', { RoleName: name, Description: desc.value, MaxSessionDuration: max.value }), redraw),
      el('h3', {}, 'Settings'), descLabel, desc, maxLabel, max, buttons(el('button', { type: 'submit' }, 'Save settings'))),
    form('Edit the trust policy', () => act(() => query('iam', 'UpdateAssumeRolePolicy', { RoleName: name, PolicyDocument: trust.checked() }), redraw),
      el('h3', {}, 'Trust policy'), ...trust.nodes, buttons(el('button', { type: 'submit' }, 'Save trust policy'))),
    ...perms);
}
