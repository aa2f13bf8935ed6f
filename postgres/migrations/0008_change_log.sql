-- The change log: every change a decision depends on (keys, users, groups,
-- roles, managed policies, buckets), one row per entity changed, written in
-- the transaction that makes the change. Every node's replica follows it by
-- seq: each entry's is the last one's plus one, taken with the table locked
-- (EXCLUSIVE: readers go on) from the end of the writing transaction to its
-- commit, so numbers are contiguous and in commit order, and a replica that
-- has read seq N has read everything before it. The log replicates with
-- the data: a standby serves it too.
CREATE TABLE change_log (
	seq  BIGINT PRIMARY KEY,
	kind TEXT NOT NULL,
	id   TEXT COLLATE "C" NOT NULL,
	at   BIGINT NOT NULL
);
-- The log's identity: a replica made from another database (or from this
-- one restored from a backup) is loaded again in full.
INSERT INTO meta(k, v) VALUES ('log_epoch', md5(random()::text || clock_timestamp()::text));
