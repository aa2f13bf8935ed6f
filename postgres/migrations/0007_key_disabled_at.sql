-- When the key was last made Inactive (ms since the epoch; 0: never).
-- GetSessionToken's sessions issued before then stay refused when the
-- key is made Active again: a deactivation revokes them for good.
ALTER TABLE access_keys ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
