// Sign-in with the node's OIDC issuer: authorization code flow with PKCE
// (S256), a state and a nonce (spec/web-console.md, "Signing in").
// Tokens live in this module's memory only: never in localStorage,
// sessionStorage or a cookie, so a reload signs the person out. Only the
// PKCE verifier, state and nonce of a sign-in under way are kept in
// sessionStorage across the redirect, and removed when it returns.

const PENDING = 'trenode.signin';
// The ID token is checked and dropped: it is not kept, nor sent anywhere.
let session = null; // {accessToken, subject, clientId, roles, role, expires, endSession}

export function current() { return session; }

function base64url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText() { return base64url(crypto.getRandomValues(new Uint8Array(32))); }

export function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error('not a JWT');
  const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

// The node's own origin, where the issuer sends the person back.
export function redirectUri() { return `${location.origin}/`; }

async function discovery(config) {
  const reply = await fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!reply.ok) throw new Error(`the issuer's discovery document: HTTP ${reply.status}`);
  const meta = await reply.json().catch(() => null);
  checkDiscovery(meta, config);
  return meta;
}

// OIDC Discovery 4.3: the document's issuer must be exactly the configured
// one, or a document served under the issuer's address could send the
// person to another issuer's endpoints. The endpoints used (and the
// sign-out one, if the issuer has one) must be https.
// Throws with the reason; returns nothing.
export function checkDiscovery(meta, config) {
  if (!meta || typeof meta !== 'object') throw new Error('the issuer\'s discovery document is not JSON: sign-in refused');
  if (meta.issuer !== config.issuer) {
    throw new Error(`the issuer's discovery document names issuer "${meta.issuer}", not this node's issuer ` +
                    `"${config.issuer}": sign-in refused`);
  }
  const used = ['authorization_endpoint', 'token_endpoint'];
  if (meta.end_session_endpoint !== undefined) used.push('end_session_endpoint');
  for (const name of used) {
    let url = null;
    try { url = new URL(meta[name]); } catch { /* refused below */ }
    if (url?.protocol !== 'https:') throw new Error(`the issuer's ${name} is not an https address: sign-in refused`);
  }
}

// How far an issuer's clock may run ahead of this browser's.
const CLOCK_SKEW_SECONDS = 60;

// OIDC Core 3.1.3.7: the ID token's claims must name the configured issuer,
// the console's client id as an audience (and as azp when there are
// several), the nonce this browser made, and an expiry not yet past.
// `now` is milliseconds since the epoch. Throws with the reason.
export function checkIdToken(claims, { issuer, clientId, nonce, now }) {
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== issuer || !audiences.includes(clientId) ||
      (audiences.length > 1 && claims.azp !== clientId)) {
    throw new Error('the ID token is not from this node\'s issuer for this console');
  }
  if (claims.nonce !== nonce) throw new Error('the ID token\'s nonce does not match: sign in again');
  if (typeof claims.exp !== 'number') throw new Error('the ID token has no expiry: sign-in refused');
  if (claims.exp + CLOCK_SKEW_SECONDS <= now / 1000) {
    throw new Error(`the ID token expired at ${new Date(claims.exp * 1000).toISOString()}: sign in again ` +
                    '(or check this computer\'s clock)');
  }
}

// The node roles a token maps to, as the node maps them: the configured
// claim (a dot path), each value through roleMappings (or a role name as
// itself when there are none). peer_node is never a person's role.
export function rolesOf(claims, config) {
  let value = claims;
  for (const key of (config.rolesClaim || 'roles').split('.')) value = value?.[key];
  const names = ['researcher', 'data_steward', 'output_checker', 'auditor', 'node_admin'];
  const mapped = new Set();
  for (const claim of Array.isArray(value) ? value : []) {
    const mappings = config.roleMappings || {};
    const role = Object.keys(mappings).length ? mappings[claim] : claim;
    if (names.includes(role)) mapped.add(role);
  }
  return names.filter((r) => mapped.has(r));
}

export async function signIn(config) {
  const meta = await discovery(config);
  const verifier = randomText();
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const pending = { verifier, state: randomText(), nonce: randomText() };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: config.clientId, redirect_uri: redirectUri(),
    scope: 'openid', state: pending.state, nonce: pending.nonce,
    code_challenge: base64url(new Uint8Array(digest)), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

// Completes a sign-in if this page is the issuer's redirect back: checks
// the state, redeems the code with the verifier, checks the ID token's
// issuer, audience, nonce and expiry. Returns the session, or null if this
// is no redirect; throws (and signs nobody in) on any mismatch.
export async function completeSignIn(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', '/');
  if (params.has('error')) throw new Error(`the issuer refused the sign-in: ${params.get('error')}`);
  if (!pending || params.get('state') !== pending.state) {
    throw new Error('this sign-in was not started here (state does not match): sign in again');
  }
  const meta = await discovery(config);
  const reply = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(),
      client_id: config.clientId, code_verifier: pending.verifier,
    }),
  });
  if (!reply.ok) throw new Error(`the issuer did not redeem the sign-in: HTTP ${reply.status}`);
  const tokens = await reply.json().catch(() => { throw new Error('the issuer\'s token answer is not JSON: sign-in refused'); });
  checkIdToken(decodeJwt(tokens.id_token), { issuer: config.issuer, clientId: config.clientId,
                                             nonce: pending.nonce, now: Date.now() });
  const access = decodeJwt(tokens.access_token);
  const roles = rolesOf(access, config);
  session = {
    accessToken: tokens.access_token, subject: access.sub, clientId: config.clientId,
    roles, role: roles[0] || null, expires: (access.exp || 0) * 1000, endSession: meta.end_session_endpoint,
  };
  return session;
}

// Only a role the token maps to can be chosen.
export function chooseRole(role) {
  if (!session || !session.roles.includes(role)) throw new Error(`not one of your roles: ${role}`);
  session.role = role;
}

// Forgets the tokens, then ends the issuer's session if it offers that
// (OIDC RP-Initiated Logout 1.0), naming the console by client_id rather
// than sending the ID token as id_token_hint: an address's query string
// stays in the browser's history and the issuer's and proxies' logs, and
// the ID token, whose audience is the node's, must not be left there.
export function signOut() {
  const ending = session;
  session = null;
  if (ending?.endSession) {
    const url = new URL(ending.endSession);
    url.search = new URLSearchParams({
      client_id: ending.clientId, post_logout_redirect_uri: redirectUri(),
    }).toString();
    location.assign(url.href);
  } else {
    location.assign('/');
  }
}
