// Mail in a real browser, through a real SMTP server (aiosmtpd): an address is set and
// confirmed by its link; a forgotten password is reset from the mailed link and the new
// one signs in; an invitation's link lets the person choose a password and sign in.
// axe-core on every page of it, in English and Korean, light and dark.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { launch, PASSWORD, signIn, startServer, startSmtp } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

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

const submit = (page) => Promise.all([page.waitForLoadState(), page.locator('main form button[type=submit]').first().click()]);

async function signInHere(page, name, password) {
  await page.locator('#username').fill(name);
  await page.locator('#password').fill(password);
  await submit(page);
}

let browser, smtp, server;
before(async () => {
  browser = await launch();
  smtp = await startSmtp();
  server = await startServer({
    smtp_url: smtp.url,
    public_url: (base) => base,
    mail_from: 'Gatehouse <auth@gh.test>',
  });
  await server.createUser('alice');
  await server.createUser('boss', 'admin');
});
after(async () => {
  await server?.stop();
  await smtp?.stop();
  await browser?.close();
});

describe('mail', () => {
  test('an address is confirmed by its link', async () => {
    for (const [locale, address] of [['en-GB', 'alice@example.com'], ['ko-KR', 'alice@example.org']]) {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(`${server.base}/login`);
      await signInHere(page, 'alice', PASSWORD);
      await page.goto(`${server.base}/account/email`);
      await axeClean(page, `/account/email (${locale})`);
      await page.locator('#email').fill(address);
      await submit(page);
      assert.match(page.url(), /notice=email_sent/);
      await axeClean(page, `/account/email sent (${locale})`);
      const { raw, link } = await smtp.waitForLink(server.base, /^\/account\/email\/verify\?token=/);
      assert.match(raw, new RegExp(`^To: ${address.replace('.', '\\.')}\\r?$`, 'm'));
      await page.goto(link);
      await axeClean(page, `verify page (${locale})`);
      await submit(page);
      assert.match(page.url(), /notice=email_verified/);
      await context.close();
    }
  });

  test('forgot → mail → reset → sign in', async () => {
    for (const [locale, newPassword] of [['en-GB', 'a brand new passphrase'], ['ko-KR', 'another new passphrase']]) {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(`${server.base}/login`);
      await Promise.all([page.waitForLoadState(), page.locator('a[href="/password/forgot"]').click()]);
      await axeClean(page, `/password/forgot (${locale})`);
      await page.locator('#login').fill('alice');
      await submit(page);
      await axeClean(page, `/password/forgot done (${locale})`);
      const { raw, link } = await smtp.waitForLink(server.base, /^\/password\/reset\?token=[A-Za-z0-9_-]{43}$/);
      assert.match(raw, /^To: alice@example\.org\r?$/m, 'the last confirmed address');
      await page.goto(link);
      await axeClean(page, `/password/reset (${locale})`);
      await page.locator('#password').fill(newPassword);
      await page.locator('#confirm').fill(newPassword);
      await submit(page);
      assert.match(page.url(), /\/login\?notice=password_reset_done$/);
      await axeClean(page, `sign-in after the reset (${locale})`);
      await signInHere(page, 'alice', newPassword);
      assert.match(page.url(), /\/dashboard$/);
      // The link worked once.
      const again = await context.request.get(link, { maxRedirects: 0 });
      assert.equal(again.status(), 404);
      await context.close();
    }
  });

  test('invitation → choose a password → sign in', async () => {
    const admin = await browser.newContext({ locale: 'en-GB' });
    const page = await admin.newPage();
    await signIn(page, server.base, 'boss');
    let n = 0;
    for (const locale of ['en-GB', 'ko-KR']) {
      n += 1;
      await page.goto(`${server.base}/admin/users/new`);
      await axeClean(page, '/admin/users/new');
      await page.locator('#username').fill(`invitee${n}`);
      await page.locator('#email').fill(`invitee${n}@example.com`);
      await submit(page);
      assert.match(page.url(), /notice=invited/);
      await axeClean(page, 'an account page with a pending invitation');
      assert.equal(await page.locator('form[action$="/invitation/resend"]').count(), 1);
      const { raw, link } = await smtp.waitForLink(server.base, /^\/invite\?token=/);
      assert.match(raw, new RegExp(`^To: invitee${n}@example\\.com\\r?$`, 'm'));
      const context = await browser.newContext({ locale });
      const guest = await context.newPage();
      await guest.goto(link);
      await axeClean(guest, `/invite (${locale})`);
      await guest.locator('#password').fill('my chosen passphrase');
      await guest.locator('#confirm').fill('my chosen passphrase');
      await submit(guest);
      assert.match(guest.url(), /\/login\?notice=invitation_accepted$/);
      await signInHere(guest, `invitee${n}`, 'my chosen passphrase');
      assert.match(guest.url(), /\/dashboard$/);
      await context.close();
    }
    await admin.close();
  });
});
