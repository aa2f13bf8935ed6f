-- A deleted access key is remembered, so that no key of that ID is ever
-- created again: a configured root key deleted after a leak stays dead.
CREATE TABLE deleted_access_keys (id TEXT PRIMARY KEY);
CREATE FUNCTION remember_deleted_access_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO deleted_access_keys(id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
	RETURN OLD;
END $$;
CREATE TRIGGER access_keys_remember_deleted AFTER DELETE ON access_keys
	FOR EACH ROW EXECUTE FUNCTION remember_deleted_access_key();

-- Attachments are kept under the policy's own ARN, once per policy. Earlier
-- versions stored the ARN as the request spelt it, so one policy could be
-- attached twice under two spellings, and a detach of one left the other.
DELETE FROM attached_policies a USING attached_policies b
WHERE b.entity_kind = a.entity_kind AND b.entity_id = a.entity_id
	AND b.policy_id = a.policy_id AND b.policy_arn < a.policy_arn;
UPDATE attached_policies a
SET policy_arn = substr(a.policy_arn, 1, strpos(a.policy_arn, ':policy/') - 1) || ':policy' || p.path || p.name
FROM policies p WHERE p.id = a.policy_id;
