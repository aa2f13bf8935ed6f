-- OpenID Connect providers the account trusts (CreateOpenIDConnectProvider),
-- by URL: the issuer without https://, as their ARNs end.
CREATE TABLE oidc_providers (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL UNIQUE,
	client_ids  TEXT NOT NULL,
	thumbprints TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	tags        TEXT NOT NULL DEFAULT '[]'
);
