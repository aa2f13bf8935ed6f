-- IAM roles. Their inline and attached policies are rows of inline_policies
-- and attached_policies with entity_kind 2. Compared text uses "C" (see 0001).
CREATE TABLE iam_roles (
	id           TEXT COLLATE "C" PRIMARY KEY,
	name         TEXT NOT NULL,
	name_fold    TEXT COLLATE "C" NOT NULL UNIQUE,
	path         TEXT COLLATE "C" NOT NULL,
	description  TEXT NOT NULL,
	trust_policy TEXT NOT NULL,
	max_session  INTEGER NOT NULL,
	created_at   BIGINT NOT NULL,
	tags         TEXT NOT NULL DEFAULT '[]'
);
