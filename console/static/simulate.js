// The policy simulator: what a user, group or role may do, decided by the
// same evaluation as every request (SimulatePrincipalPolicy).
import { members, query, text } from './api.js';
import { act, buttons, el, field, form, main, session, table } from './ui.js';

export function showSimulate(principal) {
  const [whoLabel, who] = field('Principal ARN (user, group or role)', { id: 'simwho', required: true,
    value: principal || (session.arn.includes(':user/') ? session.arn : '') });
  const [actionLabel, action] = field('Actions (comma-separated)', { id: 'simaction', required: true, placeholder: 'iam:CreateAccessKey, s3:GetObject' });
  const [resourceLabel, resource] = field('Resource ARN', { id: 'simresource', placeholder: '*' });
  const results = el('div', { id: 'simresult', 'aria-live': 'polite' });
  main().replaceChildren(el('h2', {}, 'Policy simulator'),
    form('Simulate', () => act(async () => {
      const p = { PolicySourceArn: who.value, 'ResourceArns.member.1': resource.value || '*' };
      action.value.split(',').map((a) => a.trim()).filter(Boolean).forEach((a, i) => { p[`ActionNames.member.${i + 1}`] = a; });
      const r = await query('iam', 'SimulatePrincipalPolicy', p);
      const rows = members(r, 'EvaluationResults').map((e) => el('tr', {},
        el('td', {}, text(e, 'EvalActionName')), el('td', {}, text(e, 'EvalResourceName')),
        el('td', { class: 'decision-' + text(e, 'EvalDecision') }, text(e, 'EvalDecision')),
        el('td', {}, members(e, 'MatchedStatements').map((m) => text(m, 'SourcePolicyId')).join(', ') || '—')));
      results.replaceChildren(
        el('p', {}, members(r, 'EvaluationResults').map((e) => `${text(e, 'EvalActionName')} on ${text(e, 'EvalResourceName')}: ${text(e, 'EvalDecision')}`).join('; ')),
        table(['Action', 'Resource', 'Decision', 'Matched statements'], rows));
    }), whoLabel, who, actionLabel, action, resourceLabel, resource,
    buttons(el('button', { type: 'submit', class: 'primary' }, 'Simulate'))), results);
}
