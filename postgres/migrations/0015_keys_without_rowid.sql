-- SQLite's 0015 stores access keys by their ID alone (WITHOUT ROWID);
-- PostgreSQL's heap and primary-key index need no change. This keeps the
-- two stores' schema versions in step.
SELECT 1;
