// The web console in Debian's headless Firefox ESR (firefox-esr, driven by
// puppeteer-core over WebDriver BiDi) against a real trenode and the real
// OIDC test issuer: sign-in with PKCE by keyboard, and the auditor's
// in-browser log verification, which needs WebCrypto Ed25519 (Firefox 129
// and later). In a Firefox without it the page must say so before anything
// is pasted, and this test checks that instead.
// usage: node --test firefox_test.mjs  (env BIN_DIR, OIDC_DIR, FIREFOX)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { Site, ROLES } from './site.mjs';

const site = new Site(process.env.BIN_DIR, process.env.OIDC_DIR);
let browser;
let profile;

before(async () => {
  await site.start();
  // A profile whose certificate store trusts exactly the test CA (which
  // issued the node's and the issuer's certificates), not any certificate.
  profile = mkdtempSync(path.join(tmpdir(), 'trenode-firefox-'));
  execFileSync('certutil', ['-N', '-d', `sql:${profile}`, '--empty-password']);
  execFileSync('certutil', ['-A', '-n', 'trenode-test-ca', '-t', 'C,,', '-i', path.join(site.pki, 'ca.pem'),
                            '-d', `sql:${profile}`]);
  browser = await puppeteer.launch({
    browser: 'firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr', headless: true,
    userDataDir: profile,
  });
});

after(async () => {
  await browser?.close();
  await site.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function waitFor(page, selector, timeout = 30000) {
  try {
    return await page.waitForSelector(selector, { timeout });
  } catch (error) {
    const shown = await page.evaluate(() => document.body.innerText).catch(() => '?');
    throw new Error(`${error.message}; the page shows:\n${shown}`);
  }
}

test('in Firefox: sign-in through the issuer, and the auditor verifies the log or is told why not', async () => {
  const version = await browser.version();
  const major = Number(/firefox\/(\d+)/i.exec(version)?.[1]);
  assert.ok(major > 0, version);
  const page = await browser.newPage();
  await site.issuer.nextLogin('aud', [ROLES.auditor]);
  await page.goto(`${site.origin}/`);
  await waitFor(page, '#signin');
  await page.focus('#signin');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await waitFor(page, '#subject');
  assert.equal(await page.$eval('#subject', (e) => e.textContent), 'aud');
  assert.equal(await page.evaluate(() => location.search), '');
  assert.equal(await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie])),
               '[{},{},""]');

  await page.goto(`${site.origin}/#/verify`);
  // The route's page finished: one rendered while the first page was still
  // loading could otherwise be replaced after the key is pasted into it.
  await page.waitForFunction(() => {
    const shown = document.getElementById('page');
    return shown.dataset.route === '#/verify' && !shown.hasAttribute('aria-busy');
  }, { timeout: 30000 });
  await waitFor(page, '#log-key');
  if (major < 129) {
    // No Ed25519 in this WebCrypto: said up front, and no button to press.
    assert.match(await page.$eval('#no-ed25519', (e) => e.textContent), /its WebCrypto has no Ed25519/);
    assert.ok(await page.$eval('#verify', (b) => b.disabled));
    return;
  }
  assert.equal(await page.$('#no-ed25519'), null, `Firefox ${major} has WebCrypto Ed25519`);
  await page.$eval('#log-key', (e, key) => { e.value = key; }, site.logKey);
  await page.click('#verify');
  await waitFor(page, '#verify-result [data-outcome]', 60000);
  const [outcome, message] = await page.$eval('#verify-result [data-outcome]', (e) => [e.dataset.outcome, e.textContent]);
  assert.equal(outcome, 'verified', message);
  assert.match(message, /signed by trenode\.test\/web-site/);
  // A key that is not the node's is refused.
  await page.$eval('#log-key', (e) => { e.value = `trenode.test/web-site+00000000+AQ${'A'.repeat(42)}=`; });
  await page.$eval('#verify-result', (e) => e.replaceChildren());
  await page.click('#verify');
  await waitFor(page, '#verify-result [data-outcome="failed"]');
  await page.close();
});
