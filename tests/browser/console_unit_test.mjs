// The console's checks that need no page, run under node: the ID token's
// and the discovery document's (node/web/console/auth.js), what a JSON
// answer must be (api.js) and how text is made visible (dom.js). The
// browser test (console_test.mjs) checks that the pages use them.
// usage: node --test console_unit_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkIdToken, checkDiscovery } from '../../node/web/console/auth.js';
import { parseObject } from '../../node/web/console/api.js';
import { visible } from '../../node/web/console/dom.js';

const ISSUER = 'https://idp.test:8443';
const now = Date.parse('2026-06-01T12:00:00Z');
const expected = { issuer: ISSUER, clientId: 'trenode', nonce: 'n-1', now };
const claims = (more = {}) => ({ iss: ISSUER, aud: 'trenode', nonce: 'n-1', exp: now / 1000 + 300, ...more });

test('an ID token is taken only from the issuer, for this console, with its nonce, before its expiry', () => {
  checkIdToken(claims(), expected);
  checkIdToken(claims({ exp: now / 1000 - 30 }), expected); // within the clock skew allowed
  assert.throws(() => checkIdToken(claims({ exp: now / 1000 - 3600 }), expected),
                /ID token expired at 2026-06-01T11:00:00.000Z/);
  assert.throws(() => checkIdToken(claims({ exp: now / 1000 - 60 }), expected), /expired/);
  assert.throws(() => checkIdToken(claims({ exp: undefined }), expected), /has no expiry/);
  assert.throws(() => checkIdToken(claims({ exp: String(now / 1000 + 300) }), expected), /has no expiry/);
  assert.throws(() => checkIdToken(claims({ iss: `${ISSUER}/` }), expected), /not from this node's issuer/);
  assert.throws(() => checkIdToken(claims({ aud: 'other' }), expected), /not from this node's issuer/);
  // Several audiences: the console must be the authorized party.
  checkIdToken(claims({ aud: ['other', 'trenode'], azp: 'trenode' }), expected);
  assert.throws(() => checkIdToken(claims({ aud: ['other', 'trenode'], azp: 'other' }), expected), /not from/);
  assert.throws(() => checkIdToken(claims({ aud: ['other', 'trenode'] }), expected), /not from/);
  assert.throws(() => checkIdToken(claims({ nonce: 'n-2' }), expected), /nonce does not match/);
});

test('a discovery document is believed only if it names the configured issuer and https endpoints', () => {
  const config = { issuer: ISSUER };
  const meta = (more = {}) => ({ issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`,
                                 token_endpoint: `${ISSUER}/token`, ...more });
  checkDiscovery(meta(), config);
  // OIDC Discovery 4.3: exactly the configured issuer, not one like it.
  assert.throws(() => checkDiscovery(meta({ issuer: 'https://evil.test' }), config),
                /names issuer "https:\/\/evil.test", not this node's issuer "https:\/\/idp.test:8443"/);
  assert.throws(() => checkDiscovery(meta({ issuer: `${ISSUER}/` }), config), /names issuer/);
  assert.throws(() => checkDiscovery(meta({ issuer: undefined }), config), /names issuer "undefined"/);
  assert.throws(() => checkDiscovery(meta({ token_endpoint: 'http://idp.test/token' }), config),
                /token_endpoint is not an https address/);
  assert.throws(() => checkDiscovery(meta({ authorization_endpoint: 'javascript:alert(1)' }), config),
                /authorization_endpoint is not an https address/);
  assert.throws(() => checkDiscovery(meta({ authorization_endpoint: undefined }), config), /not an https/);
  checkDiscovery(meta({ end_session_endpoint: `${ISSUER}/logout` }), config);
  assert.throws(() => checkDiscovery(meta({ end_session_endpoint: 'http://idp.test/logout' }), config),
                /end_session_endpoint is not an https address/);
  assert.throws(() => checkDiscovery(null, config), /not JSON/);
});

test('only a JSON object is an answer', () => {
  assert.deepEqual(parseObject('{"projects":[]}'), { projects: [] });
  assert.deepEqual(parseObject('{}'), {});
  for (const text of ['', '<html>proxy login</html>', 'null', '[]', '"x"', '3', '{"a":']) {
    assert.equal(parseObject(text), null, text);
  }
});

test('characters that hide or reorder text are written out', () => {
  // What a checker would read as "report-fdp.csv" is a .exe... and says so.
  assert.equal(visible('report\u202Efdp.csv'), 'report<U+202E>fdp.csv');
  const hidden = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069',
                  '\u200E', '\u200F', '\u061C', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD',
                  '\u0000', '\u001B', '\u007F', '\u0085', '\u2028', '\u2029', '\u3164', '\u{E0041}'];
  for (const c of hidden) {
    const shown = visible(`a${c}b`);
    assert.equal(shown, `a<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}>b`, shown);
  }
  // Ordinary text, other scripts, tabs and line breaks are left as they are.
  for (const text of ['by_age_sex.csv', 'Zoë Ødegård', 'مرحبا', 'שלום', '日本語', 'a\tb\nc\r\nd', '—“quoted”']) {
    assert.equal(visible(text), text);
  }
  assert.equal(visible(42), '42');
});
