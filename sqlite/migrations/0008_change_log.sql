-- The change log: every change a decision depends on (keys, users, groups,
-- roles, managed policies, buckets), one row per entity changed, written in
-- the transaction that makes the change. Every node's replica follows it by
-- seq. Sequence numbers come from change_seq's one row, taken at the end of
-- the writing transaction: they are contiguous and in commit order.
CREATE TABLE change_log (
	seq  INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,
	id   TEXT NOT NULL,
	at   INTEGER NOT NULL
);
CREATE TABLE change_seq (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	seq INTEGER NOT NULL
);
INSERT INTO change_seq VALUES (1, 0);
-- The log's identity: a replica made from another database (or from this
-- one restored from a backup) is loaded again in full.
INSERT INTO meta(k, v) VALUES ('log_epoch', lower(hex(randomblob(16))));
