// A real OIDC issuer for trenode's tests: oauth2-mock-server over HTTPS on a
// loopback port, with one RS256 and one ES256 key. Prints one JSON line
// {"issuer": URL} when ready, then answers one JSON request per input line:
//   {"mint": {kid, sub, aud, roles, amr, expiresIn}} -> {"token": "..."}
//   {"rotate": {alg, kid}}                           -> {"kid": "..."}
//   {"login": {sub, aud, roles, idTokenExpired}}     -> {"ok": true}
// "login" sets who the next browser sign-ins (authorization code flow, at
// /authorize then /token) are: their access token gets that sub, aud and
// realm_access.roles; the ID token keeps the client id as its audience
// (and, with idTokenExpired, expired an hour ago: a test of the client).
// usage: node mock_issuer.mjs KEY.pem CERT.pem
import { OAuth2Server } from 'oauth2-mock-server';
import readline from 'node:readline';

const [keyFile, certFile] = process.argv.slice(2);
const server = new OAuth2Server(keyFile, certFile);
await server.issuer.keys.generate('RS256', { kid: 'rsa-1' });
await server.issuer.keys.generate('ES256', { kid: 'ec-1' });
await server.start(0, '127.0.0.1');
let login = null;
server.service.on('beforeTokenSigning', (token, req) => {
  if (!login || req?.body?.grant_type !== 'authorization_code') return;
  token.payload.sub = login.sub;
  if (token.payload.aud === undefined) {
    token.payload.aud = login.aud;
    token.payload.realm_access = { roles: login.roles ?? [] };
  } else if (login.idTokenExpired) {
    token.payload.exp = Math.floor(Date.now() / 1000) - 3600;
  }
});
console.log(JSON.stringify({ issuer: server.issuer.url }));

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const request = JSON.parse(line);
  try {
    if (request.mint) {
      const m = request.mint;
      const token = await server.issuer.buildToken({
        kid: m.kid,
        expiresIn: m.expiresIn ?? 300,
        scopesOrTransform: (header, payload) => {
          payload.sub = m.sub;
          payload.aud = m.aud;
          payload.realm_access = { roles: m.roles ?? [] };
          if (m.amr) payload.amr = m.amr;
        },
      });
      console.log(JSON.stringify({ token }));
    } else if (request.login) {
      login = request.login;
      console.log(JSON.stringify({ ok: true }));
    } else if (request.rotate) {
      const key = await server.issuer.keys.generate(request.rotate.alg, { kid: request.rotate.kid });
      console.log(JSON.stringify({ kid: key.kid }));
    }
  } catch (error) {
    console.log(JSON.stringify({ error: String(error) }));
  }
}
await server.stop();
