-- Text that is compared or ordered uses the "C" collation, so that it
-- sorts byte by byte as SQLite does, whatever the database's locale.
CREATE TABLE meta (
	k TEXT COLLATE "C" PRIMARY KEY,
	v TEXT NOT NULL
);

CREATE TABLE users (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	name_fold  TEXT COLLATE "C" NOT NULL UNIQUE,
	path       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL,
	tags       TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE buckets (
	id           TEXT COLLATE "C" PRIMARY KEY,
	name         TEXT COLLATE "C" NOT NULL UNIQUE,
	bundle_id    TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	tags         TEXT NOT NULL DEFAULT '[]',
	versioning   BOOLEAN NOT NULL DEFAULT FALSE,
	principal_id TEXT NOT NULL
);

-- owner_kind: 0 IAM user, 1 root (owner_id NULL), 2 bucket.
CREATE TABLE access_keys (
	id                TEXT COLLATE "C" PRIMARY KEY,
	owner_kind        SMALLINT NOT NULL,
	owner_id          TEXT COLLATE "C",
	status            TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	secret            BYTEA NOT NULL,
	last_used_at      BIGINT,
	last_used_region  TEXT,
	last_used_service TEXT
);
CREATE INDEX access_keys_owner ON access_keys(owner_kind, owner_id, created_at, id);

CREATE TABLE operations (
	id             TEXT COLLATE "C" PRIMARY KEY,
	resource_name  TEXT NOT NULL,
	resource_type  TEXT NOT NULL,
	operation_type TEXT NOT NULL,
	created_at     BIGINT NOT NULL
);
CREATE INDEX operations_created ON operations(created_at, id);
