// The web console in real headless Chromium (Debian's chromium, driven by
// puppeteer-core) against a real trenode and the real OIDC test issuer:
// sign-in with PKCE and sign-out, the role switcher, two output checkers
// reviewing a release file by file, the researcher opening and saving the
// released table, what a researcher cannot see, and the auditor's in-browser
// log verification before and after a leaf is changed.
// usage: node --test console_test.mjs  (env BIN_DIR, OIDC_DIR, SCREENSHOT_DIR, CHROMIUM)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { Site, ROLES } from './site.mjs';

const site = new Site(process.env.BIN_DIR, process.env.OIDC_DIR);
const screenshots = process.env.SCREENSHOT_DIR;
let browser;
let release;

function spki(pemFile) {
  const der = new X509Certificate(readFileSync(pemFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

async function poll(what, check, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A fresh browser context (nothing shared with other people's sessions),
// signed in as `subject` with `roles` through the issuer, by keyboard.
async function signIn(subject, ...roles) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error (${subject}): ${e.message}`));
  await site.issuer.nextLogin(subject, roles.map((r) => ROLES[r]));
  await page.goto(`${site.origin}/`);
  await page.waitForSelector('#signin');
  await page.focus('#signin');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.waitForSelector('#subject');
  return page;
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent);

// waitForSelector that, on timeout, says what the page showed instead.
async function waitFor(page, selector, options = {}) {
  try {
    return await page.waitForSelector(selector, { timeout: 20000, ...options });
  } catch (error) {
    const shown = await page.evaluate(() => document.body.innerText).catch(() => '?');
    throw new Error(`${error.message}; the page shows:\n${shown}`);
  }
}

// Waits until the status line matches `pattern` and the page has finished
// re-rendering after the action: elements found then are not about to be
// replaced (a click on a replaced one fails with "Node is detached").
function settled(page, pattern) {
  return page.waitForFunction((p) => new RegExp(p).test(document.querySelector('#status').textContent)
                                     && !document.getElementById('page').hasAttribute('aria-busy'),
                              { timeout: 20000 }, pattern);
}

// Opens the page at `hash` and waits until the page shown is that route's,
// finished: a page rendered earlier (say the role's first page, still loading
// when the hash changed) is replaced by then and cannot be the one clicked.
async function open(page, hash) {
  await page.goto(`${site.origin}/${hash}`);
  try {
    await page.waitForFunction((h) => {
      const shown = document.getElementById('page');
      return shown.dataset.route === h && !shown.hasAttribute('aria-busy');
    }, { timeout: 20000 }, hash);
  } catch (error) {
    const shown = await page.evaluate(() => document.body.innerText).catch(() => '?');
    throw new Error(`${hash} did not finish loading: ${error.message}; the page shows:\n${shown}`);
  }
}

before(async () => {
  await site.start();
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Trust exactly the node's and the issuer's certificates (the test CA
    // is not in the browser's store); root in CI needs --no-sandbox.
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spki(path.join(site.pki, 'web-site.pem'))},${spki(path.join(site.pki, 'idp.pem'))}`],
  });
  release = await site.releaseInReview('browser-1');
});

after(async () => {
  await browser?.close();
  await site.stop();
});

test('the node serves the console with a strict policy and no framing', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const response = await page.goto(`${site.origin}/`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /script-src 'self';/);
  assert.match(headers['content-security-policy'], new RegExp(`connect-src 'self' ${site.issuer.url};`));
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe/);
  assert.equal(headers['x-frame-options'], 'DENY');
  await context.close();
});

test('sign-in with PKCE, the role switcher offers only mapped roles, sign-out forgets the token', async () => {
  const page = await signIn('kim', 'output_checker', 'auditor');
  assert.equal(await text(page, '#subject'), 'kim');
  const offered = await page.$$eval('#role option', (options) => options.map((o) => o.value));
  assert.deepEqual(offered, ['output_checker', 'auditor']);
  assert.equal(await page.evaluate(() => location.search), '', 'the code is gone from the address');
  // Nothing of the session is stored where a script or a later visitor could find it.
  const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
  assert.equal(stored, '[{},{},""]');
  await page.select('#role', 'auditor');
  await page.waitForFunction(() => document.querySelector('#nav').textContent.includes('Activity log'));
  // A role the token does not map to cannot be chosen by editing the page.
  await page.evaluate(() => { const o = document.createElement('option'); o.value = 'node_admin'; document.querySelector('#role').append(o); });
  await page.select('#role', 'node_admin');
  assert.equal(await page.$eval('#role', (s) => s.value), 'node_admin');
  assert.doesNotMatch(await text(page, '#nav'), /Partners/);
  // And a modified page that sent that role anyway is refused by the node.
  const kimToken = await site.token('kim', 'output_checker', 'auditor');
  const refused = await page.evaluate(async (token) => {
    const r = await fetch('/trenode.v1.Federation/ListPartners', { method: 'POST', body: '{}',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Trenode-Role': 'node_admin' } });
    return [r.status, await r.text()];
  }, kimToken);
  assert.ok(refused[0] === 401 || refused[0] === 403, refused.join(' '));
  assert.doesNotMatch(refused[1], /partners/);
  // Sign-out names the console by client id: the ID token is not put in
  // an address (history, the issuer's logs).
  const ends = [];
  page.on('request', (r) => { if (r.url().startsWith(`${site.issuer.url}/endsession`)) ends.push(r.url()); });
  await Promise.all([page.waitForNavigation(), page.click('#signout')]);
  await waitFor(page, '#signin');
  assert.equal(await page.$('#subject'), null);
  assert.equal(ends.length, 1, ends.join(' '));
  const end = new URL(ends[0]);
  assert.deepEqual([...end.searchParams.keys()].sort(), ['client_id', 'post_logout_redirect_uri']);
  assert.equal(end.searchParams.get('client_id'), 'trenode');
  assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${site.origin}/`);
  assert.doesNotMatch(ends[0], /eyJ/, 'no JWT in the sign-out address');
  await page.browserContext().close();
});

test('an expired ID token, or a discovery document that names another issuer, signs nobody in', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await site.issuer.nextLogin('eve', [ROLES.node_admin], { idTokenExpired: true });
  await page.goto(`${site.origin}/`);
  await waitFor(page, '#signin');
  await Promise.all([page.waitForNavigation(), page.click('#signin')]);
  await waitFor(page, '.error');
  assert.match(await text(page, '.error'), /the ID token expired at/);
  assert.equal(await page.$('#subject'), null);
  await site.issuer.nextLogin('eve', [ROLES.node_admin]);
  // A discovery document under the issuer's address that names another
  // issuer (OIDC Discovery 4.3): the page goes nowhere.
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (!request.url().endsWith('/.well-known/openid-configuration')) return request.continue();
    return request.respond({ status: 200, contentType: 'application/json',
      headers: { 'Access-Control-Allow-Origin': '*' },
      body: JSON.stringify({ issuer: 'https://evil.test', authorization_endpoint: `${site.issuer.url}/authorize`,
                             token_endpoint: `${site.issuer.url}/token` }) });
  });
  await page.click('#signin');
  await page.waitForFunction(() => /names issuer/.test(document.querySelector('.error')?.textContent || ''));
  assert.match(await text(page, '.error'), new RegExp(`"https://evil.test", not this node's issuer "${site.issuer.url}"`));
  assert.equal(new URL(page.url()).origin, site.origin);
  assert.equal(await page.$('#subject'), null);
  await context.close();
});

test('a redirect with a state this browser did not start signs nobody in', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(`${site.origin}/?code=stolen&state=forged`);
  await waitFor(page, '.error');
  assert.match(await text(page, '.error'), /state does not match/);
  assert.equal(await page.$('#subject'), null);
  await context.close();
});

async function review(page, decisions) {
  await open(page, `#/queue`);
  await waitFor(page, `a[href="#/review/${release.releaseId}"]`);
  await page.click(`a[href="#/review/${release.releaseId}"]`);
  await waitFor(page, 'form#review');
  for (const [file, [decision, explanation]] of Object.entries(decisions)) {
    const section = `section[data-file="${file}"]`;
    await page.click(`${section} input[value="FILE_DECISION_${decision}"]`);
    await page.type(`${section} textarea`, explanation);
  }
  await page.click('form#review button[type="submit"]');
  await page.waitForFunction(() => /Review recorded|Not recorded/.test(document.querySelector('#status').textContent));
  return text(page, '#status');
}

test('two output checkers approve one file and reject the other; the researcher opens and saves the released one', async () => {
  const olu = await signIn('olu', 'output_checker');
  await open(olu, `#/review/${release.releaseId}`);
  await waitFor(olu, 'table.cells td[data-verdict]');
  // Cells carry their verdict, and a flag says which rule.
  const verdicts = await olu.$$eval('td[data-verdict]', (cells) => cells.map((c) => [c.dataset.verdict, c.title]));
  assert.ok(verdicts.length > 0);
  for (const [verdict, title] of verdicts) {
    assert.ok(['pass', 'suppressed', 'review'].includes(verdict));
    assert.ok(title.length > 0);
  }
  // Flagged cells take keyboard focus, so their reasons are reachable.
  const focusable = await olu.$$eval('td[tabindex="0"]', (cells) => cells.map((c) => c.getAttribute('aria-label')));
  assert.ok(focusable.length > 0 && focusable.every((label) => /suppressed|needs review/.test(label)), focusable.join('; '));
  if (screenshots) {
    mkdirSync(screenshots, { recursive: true });
    await olu.setViewport({ width: 1100, height: 900 });
    await olu.screenshot({ path: path.join(screenshots, 'checker-review.png'), fullPage: true });
  }
  const first = await review(olu, { 'by_age_sex.csv': ['APPROVE', 'Small cells suppressed; totals consistent'],
                                    'by_sex.csv': ['REJECT', 'Not needed for the paper'] });
  assert.match(first, /Review recorded: release .* is in review/);
  await waitFor(olu, '#reviews');
  assert.match(await text(olu, '#reviews'), /olu@web-site/);
  // The second checker sees who reviewed before and completes it.
  const kim = await signIn('kim', 'output_checker');
  await open(kim, `#/review/${release.releaseId}`);
  await waitFor(kim, '#reviews');
  assert.match(await text(kim, '#reviews'), /olu@web-site: by_age_sex.csv approve/);
  const second = await review(kim, { 'by_age_sex.csv': ['APPROVE', 'Agree'], 'by_sex.csv': ['REJECT', 'Agree'] });
  assert.match(second, /is released/);

  const ada = await signIn('ada', 'researcher');
  await open(ada, `#/release/${release.releaseId}`);
  await waitFor(ada, 'section[data-file="by_sex.csv"] .error');
  assert.match(await text(ada, 'section[data-file="by_sex.csv"]'), /Withheld/);
  await ada.click('button.open[data-file="by_age_sex.csv"]');
  await waitFor(ada, 'svg.chart rect');
  // The researcher's table carries no verdicts (those are for checkers).
  assert.equal(await ada.$('td[data-verdict]'), null);
  if (screenshots) {
    await ada.setViewport({ width: 1100, height: 900 });
    await ada.screenshot({ path: path.join(screenshots, 'researcher-release.png'), fullPage: true });
  }
  const downloads = mkdtempSync(path.join(tmpdir(), 'trenode-downloads-'));
  const cdp = await ada.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads,
                                                  browserContextId: ada.browserContext().id });
  await ada.click('button.download[data-file="by_age_sex.csv"]');
  const saved = path.join(downloads, 'by_age_sex.csv');
  await poll('the saved file', () => existsSync(saved) && readFileSync(saved).length > 0);
  const shown = await text(ada, 'section[data-file="by_age_sex.csv"] .muted');
  const sha = createHash('sha256').update(readFileSync(saved)).digest('hex');
  assert.ok(shown.includes(sha), `saved file's SHA-256 ${sha} is the released one (${shown})`);
  // 200 % zoom: half the width, twice the pixels; nothing scrolls sideways but tables.
  await ada.setViewport({ width: 640, height: 800, deviceScaleFactor: 2 });
  assert.ok(await ada.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  for (const p of [olu, kim, ada]) await p.browserContext().close();
});

// A release the node could not make from a query (names differing only in
// punctuation, long text outputs, an unchecked CSV), served to the page by
// request interception: the checker's page is what is under test here.
test('each file has its own decision, long text is shown whole or marked cut, and only the node\'s check colours cells', async () => {
  const secret = `${'harmless line of text\n'.repeat(230)}SECRET row-level data`;
  const files = {
    'a-b.csv': 'year,a,b\n2020,30,70\n',
    'a_b.csv': 'year,a,b\n2020,30,70\n',
    'notes.txt': secret,
    'huge.log': 'x'.repeat((1 << 20) + 10),
    'x.csv': 'group,n\nsmall,2\n',
    'y.counts.csv': 'year,a,b,Total\nTotal,10,20,30\n2020,3,7,10\n2021,7,13,20\n',
    'z.counts.csv': 'year,a\n2020,*\n',
    // Reads as "notes-exe.txt" where bidi controls take effect.
    'notes-\u202Etxt.exe': 'a text output',
  };
  const sdc = (cells, suppressed = false) => ({ summary: { suppressed }, cells });
  const resultsJson = JSON.stringify({ results: {
    a: { files: [{ name: 'a-b.csv', sdc: sdc({}) }, { name: 'a_b.csv', sdc: sdc({}) }] },
    y: { files: [{ name: 'y.counts.csv', sdc: sdc({ threshold: [[0, 0]] }) }] },
    z: { files: [{ name: 'z.counts.csv', sdc: sdc({}) }] } } });
  const fake = { id: 'fake-release', projectId: 'hf', analysisId: 'a1', requester: 'ada@web-site',
                 state: 'RELEASE_STATE_IN_REVIEW', resultsJson,
                 files: Object.keys(files).map((name) => ({ name, verdict: 'review', verdictSummary: 'review' })) };
  const frame = (flags, json) => {
    const b = Buffer.from(JSON.stringify(json)); const head = Buffer.alloc(5);
    head[0] = flags; head.writeUInt32BE(b.length, 1); return Buffer.concat([head, b]);
  };
  let sent = null;
  const page = await signIn('olu', 'output_checker');
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (url.endsWith('.Releases/GetRelease')) {
      request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(fake) });
    } else if (url.endsWith('.Releases/DownloadFile')) {
      // The envelope's 5 bytes, then the request's JSON (postData is text).
      const asked = JSON.parse(request.postData().slice(5));
      request.respond({ status: 200, contentType: 'application/connect+json', body: Buffer.concat([
        frame(0, { data: Buffer.from(files[asked.file]).toString('base64') }), frame(2, {})]) });
    } else if (url.endsWith('.Releases/ReviewRelease')) {
      sent = JSON.parse(request.postData());
      request.respond({ status: 409, contentType: 'application/json',
                        body: JSON.stringify({ code: 'aborted', message: 'intercepted by the test' }) });
    } else {
      request.continue();
    }
  });
  await open(page, `#/review/fake-release`);
  await waitFor(page, 'form#review section[data-file="z.counts.csv"]');
  // Every file has its own radio group and explanation box.
  const groups = await page.$$eval('form#review section', (sections) => sections.map((s) =>
    [s.querySelector('input[type="radio"]').name, s.querySelector('textarea').id]));
  assert.equal(new Set(groups.map(([g]) => g)).size, groups.length, JSON.stringify(groups));
  assert.equal(new Set(groups.map(([, e]) => e)).size, groups.length, JSON.stringify(groups));
  // Text is shown whole up to its limit; past it, the page says so and offers no approval.
  assert.match(await text(page, 'section[data-file="notes.txt"]'), /SECRET row-level data/);
  assert.ok(await page.$('section[data-file="huge.log"] [data-cut="true"]'));
  assert.ok(await page.$eval('section[data-file="huge.log"] input[value="FILE_DECISION_APPROVE"]', (i) => i.disabled));
  // A CSV the node did not check: no verdicts, and the page says why.
  assert.equal(await page.$('section[data-file="x.csv"] td[data-verdict]'), null);
  assert.match(await text(page, 'section[data-file="x.csv"]'), /no disclosure check for this file/);
  // Rows and columns as the node counts them: label column 0, the Total row and column are margins.
  const flagged = await page.$$eval('section[data-file="y.counts.csv"] td[data-verdict="review"]', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(flagged, ['3']);
  // A cell marked hidden in a file the node did not suppress is not "suppressed by the node".
  assert.equal(await page.$eval('section[data-file="z.counts.csv"] td', (c) => c.dataset.verdict), 'review');
  // Reject one of the two look-alike names, approve the other: both decisions are sent as made.
  const decide = async (file, decision, explanation) => {
    await page.click(`section[data-file="${file}"] input[value="FILE_DECISION_${decision}"]`);
    await page.type(`section[data-file="${file}"] textarea`, explanation);
  };
  await decide('a-b.csv', 'REJECT', 'cells of 3');
  await decide('a_b.csv', 'APPROVE', 'fine');
  // A name with a right-to-left override is written out wherever it is shown.
  const disguised = 'section[data-file="notes-\u202Etxt.exe"]';
  assert.equal(await text(page, `${disguised} h2`), 'notes-<U+202E>txt.exe review');
  assert.equal(await text(page, `${disguised} legend`), 'Decision on notes-<U+202E>txt.exe');
  assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /\u202E/);
  for (const file of ['notes.txt', 'huge.log', 'x.csv', 'y.counts.csv', 'z.counts.csv', 'notes-\u202Etxt.exe']) {
    await decide(file, 'REJECT', 'no');
  }
  await page.click('form#review button[type="submit"]');
  await page.waitForFunction(() => /Not recorded/.test(document.querySelector('#status').textContent));
  const byFile = Object.fromEntries(sent.files.map((f) => [f.file, [f.decision, f.explanation]]));
  assert.deepEqual(byFile['a-b.csv'], ['FILE_DECISION_REJECT', 'cells of 3']);
  assert.deepEqual(byFile['a_b.csv'], ['FILE_DECISION_APPROVE', 'fine']);
  assert.equal(sent.files.length, 8);
  // The decision names the file as it is, not as it was shown.
  assert.deepEqual(byFile['notes-\u202Etxt.exe'], ['FILE_DECISION_REJECT', 'no']);
  await page.browserContext().close();
});

test('a researcher cannot read review copies, and a page shows nothing from a refused call', async () => {
  const second = await site.releaseInReview('browser-2');
  const ada = await site.token('ada', 'researcher');
  // The checkers' review-copy download, over JSON with the researcher's token.
  const envelope = (json) => { const b = Buffer.from(JSON.stringify(json)); const h = Buffer.alloc(5); h.writeUInt32BE(b.length, 1); return Buffer.concat([h, b]); };
  const page = await signIn('ada', 'researcher');
  const reply = await page.evaluate(async (token, body) => {
    const r = await fetch('/trenode.v1.Releases/DownloadFile', { method: 'POST', body: new Uint8Array(body),
      headers: { 'Content-Type': 'application/connect+json', Authorization: `Bearer ${token}` } });
    return new TextDecoder().decode(await r.arrayBuffer());
  }, ada, [...envelope({ releaseId: second.releaseId, file: 'by_age_sex.csv' })]);
  assert.match(reply, /"error":\{"code":"(failed_precondition|permission_denied)"/);
  assert.doesNotMatch(reply, /"data"/);
  // The release page shows the files' names and no table, no open button.
  await open(page, `#/release/${second.releaseId}`);
  await waitFor(page, 'section[data-file="by_age_sex.csv"]');
  assert.equal(await page.$('table'), null);
  assert.equal(await page.$('button.open'), null);
  // A dataset that is not there: the refusal, and nothing else.
  await open(page, `#/dataset/no-such-dataset`);
  await waitFor(page, '[role="alert"]');
  assert.match(await text(page, '[role="alert"]'), /not_found/);
  assert.equal(await page.$('dl'), null);
  await page.browserContext().close();
});

// Verifies the latest `count` entries in the page.
async function verifyInBrowser(page, count = 50) {
  await open(page, `#/verify`);
  await waitFor(page, '#log-key');
  await page.$eval('#log-key', (e, key) => { e.value = key; }, site.logKey);
  await page.$eval('#count', (e, n) => { e.value = String(n); }, count);
  assert.equal(await page.$eval('#log-key', (e) => e.value), site.logKey);
  await page.$eval('#verify-result', (e) => e.replaceChildren());
  await page.click('form button[type="submit"]');
  await waitFor(page, '#verify-result [data-outcome]', { timeout: 60000 });
  return page.$eval('#verify-result [data-outcome]', (e) => [e.dataset.outcome, e.textContent]);
}

test('the auditor verifies the log in the browser, and a changed leaf fails', async () => {
  const page = await signIn('aud', 'auditor');
  // In a browser whose WebCrypto has no Ed25519 (as Firefox ESR 128 and
  // older): the page says so before anything is pasted, and offers no button.
  await page.evaluate(() => {
    window.realImportKey = crypto.subtle.importKey;
    crypto.subtle.importKey = async () => { throw new DOMException('Unrecognized name.', 'NotSupportedError'); };
  });
  await open(page, `#/verify`);
  await waitFor(page, '#no-ed25519');
  assert.match(await text(page, '#no-ed25519'), /its WebCrypto has no Ed25519.*trectl log verify/);
  assert.ok(await page.$eval('#verify', (b) => b.disabled));
  await page.evaluate(() => { crypto.subtle.importKey = window.realImportKey; });
  await open(page, `#/log`);
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Activity log');
  const [outcome, message] = await verifyInBrowser(page);
  assert.equal(outcome, 'verified', message);
  // A key other than the node's: refused before anything is believed.
  await page.$eval('#log-key', (e) => { e.value = ''; });
  await page.type('#log-key', 'trenode.test/web-site+00000000+AQ' + 'A'.repeat(42) + '=');
  await page.click('form button[type="submit"]');
  await waitFor(page, '#verify-result [data-outcome="failed"]');
  // An insider rewrites one leaf (and its stored hash) in the database.
  const sqlite = (sql) => execFileSync('sqlite3', ['-cmd', '.timeout 10000', site.database, sql], { encoding: 'utf8' }).trim();
  const size = Number(sqlite('SELECT max(idx) FROM log_entries'));
  const index = Math.max(0, size - 5);
  const leaf = Buffer.from(sqlite(`SELECT hex(leaf) FROM log_entries WHERE idx = ${index}`), 'hex');
  const changed = Buffer.from(leaf.toString('utf8').replace(
    /\noutcome (\w+)/, (_, was) => `\noutcome ${was === 'success' ? 'failure' : 'success'}`));
  assert.notDeepEqual(changed, leaf);
  const hash = createHash('sha256').update(Buffer.concat([Buffer.from([0]), changed])).digest('hex');
  sqlite(`UPDATE log_entries SET leaf = X'${changed.toString('hex')}', leaf_hash = X'${hash}' WHERE idx = ${index}`);
  // Every call is logged, so the log grows while it is verified: check
  // back past the changed entry.
  const [after, why] = await verifyInBrowser(page, size - index + 200);
  assert.equal(after, 'failed');
  assert.match(why, new RegExp(`\\b${index}\\b`));
  await page.browserContext().close();
});

test('steward and admin pages load for a person with both roles', async () => {
  const page = await signIn('root', 'data_steward', 'node_admin');
  await open(page, `#/approvals`);
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Approvals');
  await open(page, `#/training/ada@web-site`);
  await page.waitForFunction(() => /Safe Researcher/.test(document.querySelector('#page').textContent));
  await page.select('#role', 'node_admin');
  await page.waitForFunction(() => /^Node web-site/.test(document.querySelector('h1')?.textContent || ''));
  assert.equal(await page.$('[role="alert"]'), null);
  await page.browserContext().close();
});

test('the researcher searches the catalogue and sees projects, access and analyses', async () => {
  const page = await signIn('ada', 'researcher');
  await open(page, `#/catalogue`);
  await waitFor(page, '#q');
  await page.type('#q', 'synthetic');
  await page.keyboard.press('Enter');
  await waitFor(page, '#results a[href="#/dataset/synth-ehr-1"]');
  await page.click('#results a[href="#/dataset/synth-ehr-1"]');
  await page.waitForFunction(() => /synth-ehr-1 \(version/.test(document.querySelector('#page dl')?.textContent || ''));
  await open(page, `#/projects`);
  await page.waitForFunction(() => /hf.*approved.*you have access/s.test(document.querySelector('#page table')?.textContent || ''));
  await open(page, `#/analyses`);
  await waitFor(page, `tr[data-analysis="${release.analysisId}"]`);
  assert.match(await text(page, `tr[data-analysis="${release.analysisId}"] .state`), /succeeded/);
  assert.equal(await page.$('[role="alert"]'), null);
  await page.browserContext().close();
});

// Answers the node cannot be made to give here (a federated analysis needs
// partner nodes; names with bidi controls; a proxy's HTML page in place of
// JSON), served to a researcher's pages by request interception. The
// federated analysis is written from proto/trenode/v1/analyses.proto's
// canonical JSON (Analysis.sites, SiteStatus), not recorded from a
// federation: what is under test is the page's rendering of it.
test('a researcher\'s pages write out hidden characters, refuse an answer that is not JSON, and show each site of a federated analysis', async () => {
  const page = await signIn('ada', 'researcher');
  const answers = {}; // "Service/Method" -> [status, content type, body]
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const method = Object.keys(answers).find((m) => request.url().endsWith(`/trenode.v1.${m}`));
    if (!method) return request.continue();
    const [status, contentType, body] = answers[method];
    return request.respond({ status, contentType, body });
  });
  const hidden = /[\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;
  const shown = () => page.evaluate(() => document.body.innerText);

  // A dataset's title with a right-to-left override and an isolate.
  answers['Catalogue/SearchDatasets'] = [200, 'application/json', JSON.stringify({ hits: [{ dataset: {
    id: 'd1', title: 'Cardiac \u202Eatad\u202C \u2067x\u2069', publisher: 'p\u200Bq', keywords: ['k\u200E'] } }] })];
  await open(page, `#/catalogue/cardiac`);
  await waitFor(page, '#results a[href="#/dataset/d1"]');
  assert.equal(await text(page, '#results a'), 'Cardiac <U+202E>atad<U+202C> <U+2067>x<U+2069>');
  assert.doesNotMatch(await shown(), hidden);
  assert.match(await shown(), /p<U\+200B>q/);

  // A release's file names and reasons, as the researcher sees them.
  answers['Releases/GetRelease'] = [200, 'application/json', JSON.stringify({
    id: 'fake-r', analysisId: 'a1', state: 'RELEASE_STATE_RELEASED', files: [
      { name: 'report\u202Efdp.csv', sha256: 'ab', requesterSummary: 'counts \u2066by age\u2069' },
      { name: 'b\u200F.csv', withheld: true, withheldReason: 'small \u202Bcells' }] })];
  // A proxy's sign-in page, in place of the file's stream.
  answers['Releases/DownloadFile'] = [200, 'text/html', '<html><body>Please sign in to the proxy</body></html>'];
  await open(page, `#/release/fake-r`);
  await waitFor(page, 'button.open');
  const page1 = await shown();
  assert.doesNotMatch(page1, hidden);
  assert.match(page1, /report<U\+202E>fdp\.csv/);
  assert.match(page1, /Open report<U\+202E>fdp\.csv/);
  assert.match(page1, /Withheld: small <U\+202B>cells/);
  assert.match(page1, /b<U\+200F>\.csv/);
  await page.click('button.open');
  await waitFor(page, '.shown [role="alert"]');
  assert.match(await text(page, '.shown [role="alert"]'), /not a JSON object \(HTTP 200, text\/html/);
  assert.equal(await page.$('.shown table'), null);

  // A list call answered 200 with HTML: an error, not "No projects."
  answers['Governance/ListProjects'] = [200, 'text/html', '<html>Please sign in to the proxy</html>'];
  await open(page, `#/projects`);
  await waitFor(page, '[role="alert"]');
  assert.match(await text(page, '[role="alert"]'), /^invalid_answer: the node's answer is not a JSON object \(HTTP 200/);
  assert.doesNotMatch(await shown(), /No projects/);
  // JSON, but not an object: refused the same way.
  answers['Governance/ListProjects'] = [200, 'application/json', 'null'];
  await open(page, `#/catalogue`);
  await open(page, `#/projects`);
  await waitFor(page, '[role="alert"]');
  assert.match(await text(page, '[role="alert"]'), /not a JSON object/);

  // A federated analysis: every site with its state and its own reason.
  answers['Analyses/ListAnalyses'] = [200, 'application/json', JSON.stringify({ analyses: [{
    id: 'a-00000000000000fe', projectId: 'hf', purpose: 'Pooled counts', state: 'ANALYSIS_STATE_SUCCEEDED',
    sites: [{ nodeId: 'site-b', state: 'STATE_ANSWERED', visible: true },
            { nodeId: 'site-c', state: 'STATE_ANSWERED' },
            { nodeId: 'site-d', state: 'STATE_REFUSED', reason: 'no approved project for ada@web-site' },
            { nodeId: 'site-e', state: 'STATE_HELD_FOR_REVIEW' },
            { nodeId: 'site-f', state: 'STATE_TIMED_OUT' },
            { nodeId: 'site-g', state: 'STATE_UNREACHABLE', reason: 'connection refused' }] },
    { id: 'a-00000000000000ff', projectId: 'hf', purpose: 'Local', state: 'ANALYSIS_STATE_SUCCEEDED' }] })];
  await open(page, `#/analyses`);
  await waitFor(page, 'tr[data-analysis="a-00000000000000fe"] li[data-site]');
  const sites = await page.$$eval('tr[data-analysis="a-00000000000000fe"] li[data-site]',
                                  (items) => items.map((li) => li.textContent));
  assert.deepEqual(sites, ['site-b: answered', 'site-c: answered, pooled only',
                           'site-d: refused (no approved project for ada@web-site)', 'site-e: held for review',
                           'site-f: timed out', 'site-g: unreachable (connection refused)']);
  assert.equal(await text(page, 'tr[data-analysis="a-00000000000000ff"] td.sites'), '—');
  await page.browserContext().close();
});

test('a steward\'s approvals made in the page are the node\'s: a project, a member and an analysis', async () => {
  const ada = await site.token('ada', 'researcher');
  const sam = await site.token('sam', 'data_steward');
  await site.trectl(ada, 'project', 'create', 'p-console', '--title', 'Approved in the console', '--lay-summary',
                    'A steward approves it in the browser', '--institution', 'Test University', '--datasets', 'synth-ehr-1');
  await site.trectl(sam, 'training', 'record', 'bea@web-site', '--course', 'Safe Researcher',
                    '--completed', '2026-01-01', '--expires', '2099-01-01');
  await site.trectl(ada, 'project', 'propose-member', 'hf', 'bea@web-site');
  const analysisId = await site.submitQuery('browser-steward');
  const node = async (...args) => JSON.parse(await site.trectl(sam, '--json', ...args));
  assert.equal((await node('project', 'get', 'p-console')).state, 'PROJECT_STATE_PROPOSED');

  const page = await signIn('sam', 'data_steward');
  await open(page, `#/approvals`);
  await waitFor(page, 'li[data-project="p-console"] button');
  await page.type('#ref', 'REC 77');
  await page.$eval('#exp', (e) => { e.value = '2099-06-30'; });
  const done = (pattern) => settled(page, pattern);
  await page.click('li[data-project="p-console"] button');
  await done('^Approved p-console\\.$');
  const project = await node('project', 'get', 'p-console');
  assert.equal(project.state, 'PROJECT_STATE_APPROVED');
  assert.equal(project.approval.reference, 'REC 77');
  assert.match(project.approval.expires, /^2099-06-30T23:59:59/);
  assert.deepEqual(project.approval.dataset_ids, ['synth-ehr-1']); // trectl --json keeps proto names

  await waitFor(page, 'li[data-member="bea@web-site"] button');
  await page.click('li[data-member="bea@web-site"] button');
  await done('^Approve: done\\.$');
  const { members = [] } = await node('project', 'members', 'hf');
  assert.equal(members.find((m) => m.person === 'bea@web-site')?.state, 'MEMBERSHIP_STATE_APPROVED', JSON.stringify(members));

  assert.equal((await node('analysis', 'status', analysisId)).state, 'ANALYSIS_STATE_AWAITING_APPROVAL');
  await page.$eval('#status', (e) => { e.textContent = ''; });
  await waitFor(page, `li[data-analysis="${analysisId}"] button`);
  await page.click(`li[data-analysis="${analysisId}"] button`); // the first button approves
  await done('^Approve: done\\.$');
  assert.doesNotMatch((await node('analysis', 'status', analysisId)).state, /AWAITING_APPROVAL|REJECTED/);
  // Nothing decided waits any more.
  await page.waitForFunction((id) => !document.querySelector(`li[data-analysis="${id}"]`), {}, analysisId);
  assert.equal(await page.$('li[data-project="p-console"]'), null);
  await page.browserContext().close();
});

test('a steward sees the bundles uploaded for a project and approves one for it in the page', async () => {
  await site.submitQuery('browser-bundle'); // the project, dataset and training, once
  const ada = await site.token('ada', 'researcher');
  const sam = await site.token('sam', 'data_steward');
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-'));
  writeFileSync(path.join(dir, 'manifest.textproto'),
                'entry_point: "run.py" datasets: "synth-ehr-1" outputs: "counts.csv"\n');
  writeFileSync(path.join(dir, 'run.py'), 'print("counts")\n');
  const uploaded = JSON.parse(await site.trectl(ada, '--json', 'analysis', 'upload-bundle', dir, '--project', 'hf'));
  const sha = uploaded.sha256;
  assert.match(sha, /^[0-9a-f]{64}$/);

  const page = await signIn('sam', 'data_steward');
  await open(page, `#/approvals`);
  const item = `li[data-bundle="${sha}"][data-bundle-project="hf"]`;
  await waitFor(page, `${item} button`);
  assert.match(await text(page, item), /for hf, uploaded by ada@web-site/);
  assert.match(await text(page, `${item} summary`), /^run\.py reads synth-ehr-1; writes counts\.csv$/);
  await page.click(`${item} button`);
  await settled(page, '^Approve for hf: done\\.$');
  const bundle = JSON.parse(await site.trectl(sam, '--json', 'analysis', 'bundle', sha));
  assert.deepEqual((bundle.approvals || []).map((a) => [a.project_id, a.approved_by]), [['hf', 'sam@web-site']]);
  // Approved, it leaves the queue.
  await page.waitForFunction((s) => !document.querySelector(`li[data-bundle="${s}"]`), {}, sha);
  await page.browserContext().close();
});

test('the auditor\'s filters show only matching entries, and the live tail adds new ones without a reload', async () => {
  const page = await signIn('aud', 'auditor');
  await open(page, `#/log`);
  await waitFor(page, 'tbody tr[data-index]');
  const rows = () => page.$$eval('tbody tr[data-index]', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const COLUMNS = { index: 0, actor: 2, action: 4, object: 5, project: 6 };
  // Submits the filters and waits until the rows shown are the new answer's.
  const show = async (filters, live = false) => {
    for (const name of ['actor', 'action', 'project']) {
      await page.$eval(`#f-${name}`, (e, v) => { e.value = v; }, filters[name] || '');
    }
    if (live !== await page.$eval('#live', (e) => e.checked)) await page.click('#live');
    await page.$$eval('tbody tr', (trs) => trs.forEach((tr) => { tr.dataset.old = 'yes'; }));
    await page.$eval('#status', (e) => { e.textContent = ''; });
    await page.click('form button[type="submit"]');
    await page.waitForFunction(() => /^Entries /.test(document.querySelector('#status').textContent));
    assert.equal(await page.$('tbody tr[data-old]'), null);
    return rows();
  };
  const all = await show({});
  assert.ok(new Set(all.map((r) => r[COLUMNS.actor])).size > 2, 'entries of several actors to filter');
  assert.ok(all.some((r) => r[COLUMNS.project] !== 'hf'));

  const sams = await show({ actor: 'sam@web-site', action: 'governance.' });
  assert.ok(sams.length >= 2, JSON.stringify(sams));
  for (const r of sams) {
    assert.equal(r[COLUMNS.actor], 'sam@web-site');
    assert.match(r[COLUMNS.action], /^governance\./);
  }
  const hf = await show({ project: 'hf' });
  assert.ok(hf.length > 0);
  assert.ok(hf.every((r) => r[COLUMNS.project] === 'hf'), JSON.stringify(hf.filter((r) => r[COLUMNS.project] !== 'hf')));

  // The live tail, filtered to project creations: a search (logged, not
  // matching) then a new project (matching).
  const before = await show({ action: 'governance.project.create' }, true);
  assert.match(await text(page, '#status'), /new ones as they come/);
  await page.evaluate(() => { window.sameDocument = true; });
  await page.$$eval('tbody tr', (trs) => trs.forEach((tr) => { tr.dataset.kept = 'yes'; }));
  const last = Math.max(...before.map((r) => Number(r[COLUMNS.index])));
  const ada = await site.token('ada', 'researcher');
  await site.trectl(ada, 'dataset', 'search', 'echo');
  await site.trectl(ada, 'project', 'create', 'p-tail', '--title', 'Tailed', '--lay-summary', 'Seen live',
                    '--institution', 'Test University', '--datasets', 'synth-ehr-1');
  await page.waitForFunction(() => [...document.querySelectorAll('tbody tr td')].some((c) => c.textContent === 'project/p-tail'),
                             { timeout: 20000 });
  const now = await rows();
  assert.equal(now[0][COLUMNS.object], 'project/p-tail', 'the new entry is on top');
  assert.ok(Number(now[0][COLUMNS.index]) > last);
  assert.ok(await page.evaluate(() => window.sameDocument), 'no reload');
  // The rows shown before are the same elements, and the new one was added.
  assert.equal(await page.$$eval('tbody tr[data-kept]', (trs) => trs.length), before.length);
  assert.equal(await page.$eval('tbody tr', (tr) => tr.dataset.kept), undefined);
  assert.equal(now.length, before.length + 1, 'only the matching entry was added');
  assert.ok(now.every((r) => r[COLUMNS.action] === 'governance.project.create'));
  await page.browserContext().close();
});
