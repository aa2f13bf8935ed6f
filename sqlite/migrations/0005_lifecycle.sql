-- The last credential report, shared by every node.
CREATE TABLE credential_report (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	generated_at INTEGER NOT NULL,
	content      BLOB NOT NULL
);
