-- The change log: every change a decision depends on (keys, users, groups,
-- roles, managed policies, buckets), one row per entity changed, written in
-- the transaction that makes the change. Every node's replica follows it by
-- seq: each entry's is the last one's plus one, and writes are serialized,
-- so they are contiguous and in commit order.
CREATE TABLE change_log (
	seq  INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,
	id   TEXT NOT NULL,
	at   INTEGER NOT NULL
);
-- The log's identity: a replica made from another database (or from this
-- one restored from a backup) is loaded again in full.
INSERT INTO meta(k, v) VALUES ('log_epoch', lower(hex(randomblob(16))));
