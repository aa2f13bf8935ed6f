-- People: a user's console password (its argon2id hash, never the
-- password), the account's password policy, and virtual MFA devices (their
-- seeds sealed with the master key, as access key secrets are).
CREATE TABLE login_profiles (
	user_id        TEXT PRIMARY KEY,
	hash           TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	changed_at     BIGINT NOT NULL,
	reset_required INTEGER NOT NULL DEFAULT 0,
	history        TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE password_policy (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	policy TEXT NOT NULL
);
CREATE TABLE mfa_devices (
	serial     TEXT PRIMARY KEY,
	name_fold  TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	path       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	seed       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	enabled_at BIGINT NOT NULL DEFAULT 0,
	last_step  BIGINT NOT NULL DEFAULT 0,
	tags       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX mfa_devices_user ON mfa_devices(user_id);
