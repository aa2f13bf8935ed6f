// An OpenID Connect issuer independent of iamd, for the federation tests:
// oauth2-mock-server over HTTPS with the certificate and key the test made.
// It prints its issuer URL on stdout once it serves, and runs until killed.
//
//   OIDC_CERT=cert.pem OIDC_KEY=key.pem node e2e/oidc/issuer.mjs
//
// A token request may carry sub=… to choose the subject of the token it
// gets (client_credentials with aud=… chooses the audience), as a CI
// platform mints a token per job.
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server(process.env.OIDC_KEY, process.env.OIDC_CERT);
await server.issuer.keys.generate("RS256");
server.service.on("beforeTokenSigning", (token, req) => {
  if (typeof req.body?.sub === "string") token.payload.sub = req.body.sub;
});
await server.start(Number(process.env.OIDC_PORT || 0), "127.0.0.1");
console.log(server.issuer.url);
