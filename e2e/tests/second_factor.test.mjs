// The second factor in a real browser: the policy sends an administrator to enrol, the
// code is computed here from the secret shown on the page, sign-in with TOTP and with a
// recovery code, a replayed code is refused, and "confirm it's you" before an admin
// action returns to the form's page, where the action then succeeds. axe-core on every
// new page, in English and Korean, light and dark.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { launch, PASSWORD, signIn, startServer } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const REAUTH_WINDOW = 30;

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 with SHA-1, 6 digits, 30-second steps. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30);

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

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe('second factor', () => {
  let server, secret, codes, lastStep, targetId;
  /** A code for a step not used yet (each step is accepted once; the server accepts the
   * next step too, so wait only when even that one was used). */
  const nextCode = async () => {
    while (lastStep + 1 > currentStep() + 1) await new Promise((r) => setTimeout(r, 500));
    lastStep = Math.max(currentStep(), lastStep + 1);
    return totp(secret, lastStep);
  };

  before(async () => {
    server = await startServer({ require_2fa: 'admins', reauth_window: REAUTH_WINDOW });
    await server.createUser('boss', 'admin');
    await server.createUser('alice');
  });
  after(async () => { await server.stop(); });

  test('the policy sends an administrator to enrol, with a code from the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'boss');
    await page.waitForURL(/\/account\/2fa\?notice=must_enrol$/);
    await page.goto(`${server.base}/dashboard`);
    assert.match(page.url(), /\/account\/2fa/, 'every other page sends it back');
    assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code drawn server-side');
    const uri = await page.getAttribute('a[href^="otpauth://"]', 'href');
    assert.match(uri, /^otpauth:\/\/totp\/Gatehouse:boss\?.*secret=[A-Z2-7]+/);
    assert.match(uri, /issuer=Gatehouse/);
    await axeClean(page, '/account/2fa (enrol)');
    const korean = await (await browser.newContext()).newPage();
    await korean.context().addCookies((await context.cookies()).filter((c) => c.name.startsWith('__Host-')));
    await korean.goto(`${server.base}/account/2fa?lang=ko`);
    await axeClean(korean, '/account/2fa in Korean');
    await korean.context().close();
    const shown = (await page.textContent('#secret')).trim();
    secret = base32Decode(shown);
    lastStep = currentStep();
    await page.getByLabel('The 6-digit code the app shows now').fill(totp(secret, lastStep));
    await page.getByRole('button', { name: 'Turn on the second factor' }).click();
    codes = await page.locator('code.recovery-code').allTextContents();
    assert.equal(codes.length, 10);
    await axeClean(page, 'recovery codes');
    await page.goto(`${server.base}/admin/users`);
    assert.match(page.url(), /\/admin\/users$/, 'enrolled: the admin pages open');
    targetId = (await page.getAttribute('a[href^="/admin/users/"]:text("alice")', 'href')).split('/').pop();
    await context.close();
  });

  test('sign-in with a TOTP code, and a replayed code refused', async () => {
    const first = await (await browser.newContext()).newPage();
    await signIn(first, server.base, 'boss');
    await first.waitForURL(/\/login\/2fa/);
    const names = (await first.context().cookies()).map((c) => c.name);
    assert.ok(names.includes('__Host-pending') && !names.includes('__Host-access'), names.join());
    await axeClean(first, '/login/2fa');
    const code = await nextCode();
    await first.getByLabel('Code from your app, or a recovery code').fill(code);
    await first.getByRole('button', { name: 'Continue' }).click();
    await first.waitForURL(/\/dashboard$/);
    // The same code, typed again by someone who saw it.
    const second = await (await browser.newContext()).newPage();
    await signIn(second, server.base, 'boss');
    await second.waitForURL(/\/login\/2fa/);
    await second.getByLabel('Code from your app, or a recovery code').fill(code);
    await second.getByRole('button', { name: 'Continue' }).click();
    assert.match(await second.textContent('main'), /not right, or it was used already/);
    await axeClean(second, '/login/2fa with an error');
    await second.goto(`${server.base}/login/2fa?lang=ko`);
    await axeClean(second, '/login/2fa in Korean');
    await first.context().close();
    await second.context().close();
  });

  test('sign-in with a recovery code, once', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, server.base, 'boss');
    await page.waitForURL(/\/login\/2fa/);
    await page.getByLabel('Code from your app, or a recovery code').fill(codes[0]);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/dashboard$/);
    await page.goto(`${server.base}/account/2fa`);
    assert.match(await page.textContent('main'), /Recovery codes left\s*9/);
    await axeClean(page, '/account/2fa (on)');
    await page.context().close();
  });

  test('confirm it\'s you before an admin action, then back to the form', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, server.base, 'boss');
    await page.waitForURL(/\/login\/2fa/);
    await page.getByLabel('Code from your app, or a recovery code').fill(await nextCode());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/dashboard$/);
    // Let the confirmation of the sign-in lapse.
    await new Promise((r) => setTimeout(r, (REAUTH_WINDOW + 2) * 1000));
    await page.goto(`${server.base}/admin/users/${targetId}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/\/reauth\?next=/);
    await axeClean(page, '/reauth');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Code from your app, or a recovery code').fill(await nextCode());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(new RegExp(`/admin/users/${targetId}$`));
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/notice=disabled/);
    assert.match(await page.textContent('main'), /has been disabled/);
    await page.goto(`${server.base}/reauth?next=%2Fdashboard&lang=ko`);
    await axeClean(page, '/reauth in Korean');
    await page.context().close();
  });
});
