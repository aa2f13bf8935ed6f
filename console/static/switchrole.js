// Switch role, as AWS's console has it: the signed-in principal assumes a
// role of this or another account of the deployment (an account's
// OrganizationAccountAccessRole, typically) and the console works as that
// session until "Switch back". The credentials it leaves are kept in this
// module's memory only, to return to.
import { credentials, query, setCredentials, text } from './api.js';
import { $, act } from './ui.js';

const previous = [];

// initSwitchRole wires the switch-role form; signedIn redraws for the
// credentials set.
export function initSwitchRole(signedIn) {
  $('switchrole').addEventListener('click', () => {
    $('switchform').hidden = !$('switchform').hidden;
  });
  $('switchform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(async () => {
      const account = $('switchaccount').value.trim(), role = $('switchname').value.trim();
      const r = await query('sts', 'AssumeRole', { RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: 'console' });
      const c = r.querySelector('Credentials');
      previous.push(credentials());
      setCredentials({ id: text(c, 'AccessKeyId'), secret: text(c, 'SecretAccessKey'), token: text(c, 'SessionToken') });
      $('switchform').hidden = true;
      $('switchback').hidden = false;
      location.hash = 'users';
      await signedIn();
    });
  });
  $('switchback').addEventListener('click', () => act(async () => {
    setCredentials(previous.pop());
    $('switchback').hidden = previous.length === 0;
    await signedIn();
  }));
}
