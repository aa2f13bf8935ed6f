CREATE TABLE iam_groups (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_fold  TEXT NOT NULL UNIQUE,
	path       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES iam_groups(id),
	user_id  TEXT NOT NULL REFERENCES users(id),
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id, group_id);

-- Customer-managed policies; versions are numbered 1, 2, … and never reused.
CREATE TABLE policies (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	name_fold       TEXT NOT NULL UNIQUE,
	path            TEXT NOT NULL,
	description     TEXT NOT NULL,
	default_version INTEGER NOT NULL,
	next_version    INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	tags            TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE policy_versions (
	policy_id  TEXT NOT NULL REFERENCES policies(id),
	num        INTEGER NOT NULL,
	document   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (policy_id, num)
);

-- entity_kind: 0 user, 1 group. policy_id is a customer-managed policy's
-- id or a built-in AWS-managed policy's, which has no row in policies.
CREATE TABLE attached_policies (
	entity_kind INTEGER NOT NULL,
	entity_id   TEXT NOT NULL,
	policy_arn  TEXT NOT NULL,
	policy_id   TEXT NOT NULL,
	PRIMARY KEY (entity_kind, entity_id, policy_arn)
);
CREATE INDEX attached_policies_policy ON attached_policies(policy_id);

CREATE TABLE inline_policies (
	entity_kind INTEGER NOT NULL,
	entity_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	name_fold   TEXT NOT NULL,
	document    TEXT NOT NULL,
	size        INTEGER NOT NULL,
	PRIMARY KEY (entity_kind, entity_id, name_fold)
);
