-- The change log: every change a decision depends on (keys, users, groups,
-- roles, managed policies, buckets), one row per entity changed, written in
-- the transaction that makes the change. Every node's replica follows it by
-- seq. Sequence numbers come from change_seq's one row, locked from the end
-- of the writing transaction to its commit: they are contiguous and in
-- commit order, so a replica that has read seq N has read everything
-- before it. The log replicates with the data: a standby serves it too.
CREATE TABLE change_log (
	seq  BIGINT PRIMARY KEY,
	kind TEXT NOT NULL,
	id   TEXT COLLATE "C" NOT NULL,
	at   BIGINT NOT NULL
);
CREATE TABLE change_seq (
	one INT PRIMARY KEY CHECK (one = 1),
	seq BIGINT NOT NULL
);
INSERT INTO change_seq VALUES (1, 0);
-- The log's identity: a replica made from another database (or from this
-- one restored from a backup) is loaded again in full.
INSERT INTO meta(k, v) VALUES ('log_epoch', md5(random()::text || clock_timestamp()::text));
