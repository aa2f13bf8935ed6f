-- IAM roles. Their inline and attached policies are rows of inline_policies
-- and attached_policies with entity_kind 2.
CREATE TABLE iam_roles (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	name_fold    TEXT NOT NULL UNIQUE,
	path         TEXT NOT NULL,
	description  TEXT NOT NULL,
	trust_policy TEXT NOT NULL,
	max_session  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	tags         TEXT NOT NULL DEFAULT '[]'
);
