-- OpenID Connect providers the account trusts (CreateOpenIDConnectProvider),
-- by URL: the issuer without https://, as their ARNs end.
CREATE TABLE oidc_providers (
	id          TEXT COLLATE "C" PRIMARY KEY,
	url         TEXT COLLATE "C" NOT NULL UNIQUE,
	client_ids  TEXT NOT NULL,
	thumbprints TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	tags        TEXT NOT NULL DEFAULT '[]'
);
