-- Instance profiles (CreateInstanceProfile): a container for at most one
-- role, by name unique case-insensitively. role_id is '' for none.
CREATE TABLE instance_profiles (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_fold  TEXT NOT NULL UNIQUE,
	path       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	tags       TEXT NOT NULL DEFAULT '[]',
	role_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX instance_profiles_role ON instance_profiles(role_id);
