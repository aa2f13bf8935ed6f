// Users: the list, one user's page (keys, groups, permissions, tags).
import { all, members, query, text } from './api.js';
import { keysSection } from './keys.js';
import { permissionsSection } from './permissions.js';
import { act, button, buttons, confirmThen, el, field, form, go, link, main, table, tagParams, when } from './ui.js';

let filter = '';

export async function showUsers() {
  const [openLabel, open] = field('Open a user by name', { id: 'openuser' });
  const openForm = form('Open a user', () => go('user/' + open.value), openLabel, open, buttons(el('button', { type: 'submit' }, 'Open')));
  let users;
  try {
    users = await all('ListUsers', {}, 'Users');
  } catch (e) {
    main().replaceChildren(el('h2', {}, 'Users'), openForm); // a key operator may still open one by name
    throw e;
  }
  const [searchLabel, search] = field('Search by name prefix', { id: 'usersearch', type: 'search', value: filter });
  search.addEventListener('input', () => { filter = search.value; act(showUsers); });
  const shown = users.filter((u) => text(u, 'UserName').toLowerCase().startsWith(filter.toLowerCase()));
  const [nameLabel, name] = field('User name', { id: 'newuser', required: true, pattern: '[\\w+=,.@\\-]+' });
  const [pathLabel, path] = field('Path (optional)', { id: 'newpath', placeholder: '/' });
  const [tagsLabel, tags] = field('Tags (optional)', { id: 'newtags', placeholder: 'team=a, env=prod' });
  main().replaceChildren(
    el('h2', {}, 'Users'), openForm, searchLabel, search,
    table(['User', 'Path', 'Created', ''], shown.map((u) => {
      const n = text(u, 'UserName');
      return el('tr', {},
        el('td', {}, link(n, 'user/' + n)), el('td', {}, text(u, 'Path')), el('td', {}, when(text(u, 'CreateDate'))),
        el('td', {}, button('Delete', confirmThen(`Delete user ${n}?`, () => act(() => query('iam', 'DeleteUser', { UserName: n }), showUsers)),
          { 'aria-label': 'Delete user ' + n })));
    })),
    form('Create user', () => act(async () => {
      await query('iam', 'CreateUser', { UserName: name.value, ...(path.value ? { Path: path.value } : {}), ...tagParams(tags.value) });
    }, showUsers),
    el('h3', {}, 'Create user'), nameLabel, name, pathLabel, path, tagsLabel, tags,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Create user'))));
}

export async function showUser(name) {
  const redraw = () => showUser(name);
  const keys = await keysSection(name, redraw); // first: all a key operator may see
  const u = await query('iam', 'GetUser', { UserName: name });
  const arn = text(u, 'Arn');
  const groups = (await all('ListGroupsForUser', { UserName: name }, 'Groups')).map((g) => text(g, 'GroupName'));
  const allGroups = (await all('ListGroups', {}, 'Groups')).map((g) => text(g, 'GroupName')).filter((g) => !groups.includes(g));
  const tags = members(await query('iam', 'ListUserTags', { UserName: name }), 'Tags');
  const perms = await permissionsSection('user', name, redraw);
  const groupChoice = el('select', { id: 'addtogroup' }, allGroups.map((g) => el('option', { value: g }, g)));
  main().replaceChildren(
    el('h2', {}, 'User ' + text(u, 'UserName')),
    el('dl', { class: 'summary' },
      el('dt', {}, 'ARN'), el('dd', {}, el('code', {}, arn)),
      el('dt', {}, 'Path'), el('dd', {}, text(u, 'Path')),
      el('dt', {}, 'Created'), el('dd', {}, when(text(u, 'CreateDate'))),
      el('dt', {}, 'Tags'), el('dd', {}, tags.map((t) => `${text(t, 'Key')}=${text(t, 'Value')}`).join(', ') || 'none')),
    buttons(link('Simulate this user\'s permissions', 'simulate/' + arn, { class: 'button' })),
    ...keys,
    el('h3', {}, 'Groups'),
    table(['Group', ''], groups.map((g) => el('tr', {},
      el('td', {}, link(g, 'group/' + g)),
      el('td', {}, button('Remove', () => act(() => query('iam', 'RemoveUserFromGroup', { GroupName: g, UserName: name }), redraw),
        { 'aria-label': `Remove ${name} from ${g}` }))))),
    allGroups.length ? form(`Add ${name} to a group`, () => act(() => query('iam', 'AddUserToGroup', { GroupName: groupChoice.value, UserName: name }), redraw),
      el('label', { for: 'addtogroup' }, 'Add to group'), groupChoice, buttons(el('button', { type: 'submit' }, 'Add to group'))) : '',
    ...perms);
}
