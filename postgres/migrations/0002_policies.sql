-- Text that is compared or ordered uses the "C" collation (see 0001).
CREATE TABLE iam_groups (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	name_fold  TEXT COLLATE "C" NOT NULL UNIQUE,
	path       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE group_members (
	group_id TEXT COLLATE "C" NOT NULL REFERENCES iam_groups(id),
	user_id  TEXT COLLATE "C" NOT NULL REFERENCES users(id),
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id, group_id);

-- Customer-managed policies; versions are numbered 1, 2, … and never reused.
CREATE TABLE policies (
	id              TEXT COLLATE "C" PRIMARY KEY,
	name            TEXT NOT NULL,
	name_fold       TEXT COLLATE "C" NOT NULL UNIQUE,
	path            TEXT COLLATE "C" NOT NULL,
	description     TEXT NOT NULL,
	default_version INTEGER NOT NULL,
	next_version    INTEGER NOT NULL,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	tags            TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE policy_versions (
	policy_id  TEXT COLLATE "C" NOT NULL REFERENCES policies(id),
	num        INTEGER NOT NULL,
	document   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (policy_id, num)
);

-- entity_kind: 0 user, 1 group. policy_id is a customer-managed policy's
-- id or a built-in AWS-managed policy's, which has no row in policies.
CREATE TABLE attached_policies (
	entity_kind SMALLINT NOT NULL,
	entity_id   TEXT COLLATE "C" NOT NULL,
	policy_arn  TEXT COLLATE "C" NOT NULL,
	policy_id   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (entity_kind, entity_id, policy_arn)
);
CREATE INDEX attached_policies_policy ON attached_policies(policy_id);

CREATE TABLE inline_policies (
	entity_kind SMALLINT NOT NULL,
	entity_id   TEXT COLLATE "C" NOT NULL,
	name        TEXT NOT NULL,
	name_fold   TEXT COLLATE "C" NOT NULL,
	document    TEXT NOT NULL,
	size        INTEGER NOT NULL,
	PRIMARY KEY (entity_kind, entity_id, name_fold)
);
