// Groups: the list, one group's page (members, permissions).
import { all, members, query, text } from './api.js';
import { permissionsSection } from './permissions.js';
import { act, button, buttons, confirmThen, el, field, form, go, link, main, table, when } from './ui.js';

export async function showGroups() {
  const groups = await all('ListGroups', {}, 'Groups');
  const [nameLabel, name] = field('Group name', { id: 'newgroup', required: true, pattern: '[\\w+=,.@\\-]+' });
  const [pathLabel, path] = field('Path (optional)', { id: 'newgrouppath', placeholder: '/' });
  main().replaceChildren(
    el('h2', {}, 'Groups'),
    table(['Group', 'Path', 'Created', ''], groups.map((g) => {
      const n = text(g, 'GroupName');
      return el('tr', {},
        el('td', {}, link(n, 'group/' + n)), el('td', {}, text(g, 'Path')), el('td', {}, when(text(g, 'CreateDate'))),
        el('td', {}, button('Delete', confirmThen(`Delete group ${n}? It must have no members and no policies.`,
          () => act(() => query('iam', 'DeleteGroup', { GroupName: n }), showGroups)), { 'aria-label': 'Delete group ' + n })));
    })),
    form('Create group', () => act(async () => {
      await query('iam', 'CreateGroup', { GroupName: name.value, ...(path.value ? { Path: path.value } : {}) });
      go('group/' + name.value);
    }), el('h3', {}, 'Create group'), nameLabel, name, pathLabel, path,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Create group'))));
}

export async function showGroup(name) {
  const redraw = () => showGroup(name);
  const r = await query('iam', 'GetGroup', { GroupName: name });
  const g = r.getElementsByTagName('Group')[0];
  const users = members(r, 'Users').map((u) => text(u, 'UserName'));
  const perms = await permissionsSection('group', name, redraw);
  const [userLabel, user] = field('Add a user by name', { id: 'addmember', required: true });
  main().replaceChildren(
    el('h2', {}, 'Group ' + text(g, 'GroupName')),
    el('dl', { class: 'summary' },
      el('dt', {}, 'ARN'), el('dd', {}, el('code', {}, text(g, 'Arn'))),
      el('dt', {}, 'Path'), el('dd', {}, text(g, 'Path')),
      el('dt', {}, 'Created'), el('dd', {}, when(text(g, 'CreateDate')))),
    el('h3', {}, 'Members'),
    table(['User', ''], users.map((u) => el('tr', {},
      el('td', {}, link(u, 'user/' + u)),
      el('td', {}, button('Remove', () => act(() => query('iam', 'RemoveUserFromGroup', { GroupName: name, UserName: u }), redraw),
        { 'aria-label': `Remove ${u} from ${name}` }))))),
    form(`Add a user to ${name}`, () => act(() => query('iam', 'AddUserToGroup', { GroupName: name, UserName: user.value }), redraw),
      userLabel, user, buttons(el('button', { type: 'submit' }, 'Add user'))),
    ...perms,
    buttons(link('Simulate a member\'s permissions', 'simulate/' + text(g, 'Arn'), { class: 'button' })));
}
