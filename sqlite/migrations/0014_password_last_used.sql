-- When a user's console password last signed them in (0: never), for
-- GetUser's PasswordLastUsed and the credential report.
ALTER TABLE login_profiles ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
