CREATE TABLE meta (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
);

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_fold  TEXT NOT NULL UNIQUE,
	path       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	tags       TEXT NOT NULL DEFAULT '[]'
);

-- owner_kind: 0 IAM user (user_id set), 1 root (user_id NULL).
CREATE TABLE access_keys (
	id                TEXT PRIMARY KEY,
	owner_kind        INTEGER NOT NULL,
	user_id           TEXT REFERENCES users(id),
	status            TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	secret            BLOB NOT NULL,
	last_used_at      INTEGER,
	last_used_region  TEXT,
	last_used_service TEXT
);
CREATE INDEX access_keys_owner ON access_keys(owner_kind, user_id, created_at, id);
