-- Several accounts share the database. A name is unique within its
-- account: name_fold, and an OIDC provider's url, now hold the account's
-- ID, "/", and what they held, so that their one unique index keeps names
-- apart per account and one range of it holds an account's names. What
-- the database held belongs to the deployment's first account.
UPDATE users SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE iam_groups SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE policies SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE iam_roles SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE instance_profiles SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE mfa_devices SET name_fold = (SELECT v FROM meta WHERE k = 'account_id') || '/' || name_fold;
UPDATE oidc_providers SET url = (SELECT v FROM meta WHERE k = 'account_id') || '/' || url;

-- A root's keys name its account; buckets (whose names stay the
-- deployment's), operations and attachments (an AWS-managed policy is
-- attached in many accounts) name theirs.
UPDATE access_keys SET owner_id = (SELECT v FROM meta WHERE k = 'account_id') WHERE owner_kind = 1;
ALTER TABLE buckets ADD COLUMN account TEXT NOT NULL DEFAULT '';
UPDATE buckets SET account = (SELECT v FROM meta WHERE k = 'account_id');
CREATE INDEX buckets_account ON buckets(account, name);
ALTER TABLE operations ADD COLUMN account TEXT NOT NULL DEFAULT '';
UPDATE operations SET account = (SELECT v FROM meta WHERE k = 'account_id');
CREATE INDEX operations_account ON operations(account, created_at, id);
ALTER TABLE attached_policies ADD COLUMN account TEXT NOT NULL DEFAULT '';
UPDATE attached_policies SET account = (SELECT v FROM meta WHERE k = 'account_id');
CREATE INDEX attached_policies_account ON attached_policies(policy_id, account);

-- The password policy, the credential report and the alias are each
-- account's; the row alias/<alias> names the account whose alias it is.
CREATE TABLE password_policies (
	account TEXT PRIMARY KEY,
	policy  TEXT NOT NULL
);
INSERT INTO password_policies(account, policy) SELECT (SELECT v FROM meta WHERE k = 'account_id'), policy FROM password_policy;
DROP TABLE password_policy;
CREATE TABLE credential_reports (
	account      TEXT PRIMARY KEY,
	generated_at INTEGER NOT NULL,
	content      BLOB NOT NULL
);
INSERT INTO credential_reports(account, generated_at, content) SELECT (SELECT v FROM meta WHERE k = 'account_id'), generated_at, content FROM credential_report;
DROP TABLE credential_report;
INSERT INTO meta(k, v) SELECT 'alias/' || v, (SELECT v FROM meta WHERE k = 'account_id') FROM meta WHERE k = 'account_alias';
UPDATE meta SET k = 'account_alias/' || (SELECT v FROM meta WHERE k = 'account_id') WHERE k = 'account_alias';
