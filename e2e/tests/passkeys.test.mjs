// Passkeys in a real browser, with Chromium's virtual authenticator (DevTools protocol:
// WebAuthn.enable, WebAuthn.addVirtualAuthenticator, CTAP2 with a resident key and user
// verification). Once as a device-bound passkey and once as a synced one (the
// backup-eligible and backup-state flags set): add one on /account/passkeys, sign out,
// sign in with it without typing a username, and use it as the second step after the
// password. axe-core on the passkey pages in English and Korean, light and dark. The
// server runs without public_url, so the relying party is localhost.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launch, PASSWORD, signIn, startServer } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const SHOTS = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');

async function axeClean(page, label) {
  const found = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate(AXE);
    const result = await page.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
    for (const v of result.violations) found.push(`${scheme}: ${v.id}: ${v.help} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(found, [], `axe on ${label}:\n${found.join('\n')}`);
}

let browser, server, base;
before(async () => {
  browser = await launch();
  server = await startServer();
  // WebAuthn needs a domain: localhost, not 127.0.0.1.
  base = server.base.replace('127.0.0.1', 'localhost');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function withAuthenticator(synced) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      defaultBackupEligibility: synced,
      defaultBackupState: synced,
    },
  });
  // The virtual authenticator answers on its own (a person touching it): the sign-in
  // page's autofill request (conditional mediation) then signs in at once.
  return { context, page, authenticatorId };
}

async function signOut(page) {
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForURL(/\/login/), page.getByRole('button', { name: 'Sign out' }).click()]);
}

for (const synced of [false, true]) {
  describe(`passkeys (${synced ? 'synced' : 'device-bound'})`, () => {
    const name = synced ? 'sally' : 'dave';
    test('add one, sign in with it without a username, and use it as the second step', async () => {
      await server.createUser(name);
      const { context, page } = await withAuthenticator(synced);
      await signIn(page, base, name);
      assert.match(page.url(), /\/dashboard/);
      await page.goto(`${base}/account/passkeys`);
      await axeClean(page, '/account/passkeys');
      await page.getByLabel('Name of the new passkey').fill('Virtual key');
      await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Add a passkey' }).click()]);
      await page.waitForSelector('.recovery-code');
      assert.equal(await page.locator('.recovery-code').count(), 10, 'first second factor: recovery codes');
      await page.goto(`${base}/account/passkeys`);
      const row = page.locator('tbody tr', { hasText: 'Virtual key' });
      await row.waitFor();
      assert.match(await row.textContent(), synced ? /Synced/ : /On one device only/);
      if (!synced) {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, 'passkeys-1440.png'), fullPage: true });
      }
      await page.goto(`${base}/account/passkeys?lang=ko`);
      await axeClean(page, '/account/passkeys in Korean');
      await page.goto(`${base}/account/passkeys?lang=en`);

      // Signed out, the sign-in page's username field offers the passkey (autofill):
      // choosing it signs in with no username typed.
      await signOut(page);
      await page.waitForURL(/\/dashboard/);
      assert.match(await page.textContent('main'), new RegExp(name));

      // The button does the same, in a browser without the autofill.
      await context.addInitScript(() => {
        if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
      await signOut(page);
      await page.goto(`${base}/login?lang=ko`);
      await axeClean(page, '/login with passkeys, in Korean');
      await page.goto(`${base}/login?next=%2Faccount&lang=en`);
      await axeClean(page, '/login with passkeys');
      if (!synced) await page.screenshot({ path: join(SHOTS, 'login-passkey-1440.png') });
      await Promise.all([
        page.waitForURL(/\/account$/),
        page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
      ]);
      assert.match(await page.textContent('main'), new RegExp(name));

      // The password alone is not enough now: the passkey is the second step.
      await signOut(page);
      await signIn(page, base, name, PASSWORD);
      assert.match(page.url(), /\/login\/2fa/);
      await axeClean(page, '/login/2fa with a passkey');
      await Promise.all([
        page.waitForURL(/\/dashboard/),
        page.getByRole('button', { name: 'Use a passkey instead' }).click(),
      ]);
      await context.close();
    });
  });
}

test('without WebAuthn the passkey controls stay hidden and the page works', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
  await context.close();
});

test('the sign-in page can show the password while it is typed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('not shown');
  assert.equal(await password.getAttribute('type'), 'password');
  const toggle = page.getByRole('button', { name: 'Show password' });
  await toggle.click();
  assert.equal(await password.getAttribute('type'), 'text');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await toggle.click();
  assert.equal(await password.getAttribute('type'), 'password');
  await context.close();
});
