-- A deleted access key is remembered, so that no key of that ID is ever
-- created again: a configured root key deleted after a leak stays dead.
CREATE TABLE deleted_access_keys (id TEXT PRIMARY KEY);
CREATE TRIGGER access_keys_remember_deleted AFTER DELETE ON access_keys
BEGIN
	INSERT OR IGNORE INTO deleted_access_keys(id) VALUES (OLD.id);
END;

-- Attachments are kept under the policy's own ARN, once per policy. Earlier
-- versions stored the ARN as the request spelt it, so one policy could be
-- attached twice under two spellings, and a detach of one left the other.
DELETE FROM attached_policies WHERE EXISTS (
	SELECT 1 FROM attached_policies b
	WHERE b.entity_kind = attached_policies.entity_kind AND b.entity_id = attached_policies.entity_id
		AND b.policy_id = attached_policies.policy_id AND b.policy_arn < attached_policies.policy_arn);
UPDATE attached_policies
SET policy_arn = substr(policy_arn, 1, instr(policy_arn, ':policy/') - 1) || ':policy'
	|| (SELECT p.path || p.name FROM policies p WHERE p.id = attached_policies.policy_id)
WHERE policy_id IN (SELECT id FROM policies);
