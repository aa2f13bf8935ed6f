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

CREATE TABLE buckets (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	bundle_id    TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	tags         TEXT NOT NULL DEFAULT '[]',
	versioning   INTEGER NOT NULL DEFAULT 0,
	principal_id TEXT NOT NULL
);

-- owner_kind: 0 IAM user, 1 root (owner_id NULL), 2 bucket; owner_id is
-- the user's or bucket's id. Owners are checked in the writing transaction.
CREATE TABLE access_keys (
	id                TEXT PRIMARY KEY,
	owner_kind        INTEGER NOT NULL,
	owner_id          TEXT,
	status            TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	secret            BLOB NOT NULL,
	last_used_at      INTEGER,
	last_used_region  TEXT,
	last_used_service TEXT
);
CREATE INDEX access_keys_owner ON access_keys(owner_kind, owner_id, created_at, id);

CREATE TABLE operations (
	id             TEXT PRIMARY KEY,
	resource_name  TEXT NOT NULL,
	resource_type  TEXT NOT NULL,
	operation_type TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX operations_created ON operations(created_at, id);
