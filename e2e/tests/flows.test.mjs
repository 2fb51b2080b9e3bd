// What people do, in a real headless Chromium against the release server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, PASSWORD, signIn, startServer } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

describe('first run and signing in', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  test('the setup link creates the administrator, once', async () => {
    assert.ok(server.setupUrl, 'the server printed a setup link');
    const page = await browser.newPage();
    await page.goto(server.setupUrl);
    await page.getByLabel('Username').fill('root-admin');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.waitForURL(/\/login\?notice=setup_done/);
    assert.match(await page.textContent('main'), /administrator account is ready/);
    const again = await page.goto(server.setupUrl);
    assert.equal(again.status(), 404, 'the link is spent');
    await signIn(page, server.base, 'root-admin');
    await page.waitForURL(/\/dashboard$/);
    assert.match(await page.textContent('main'), /root-admin[\s\S]*admin/);
    await page.context().close();
  });

  test('the browser stores the __Host- cookies, and script cannot read them', async () => {
    await server.createUser('alice');
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'alice');
    await page.waitForURL(/\/dashboard$/);
    const cookies = await context.cookies();
    const access = cookies.find((c) => c.name === '__Host-access');
    const refresh = cookies.find((c) => c.name === '__Host-refresh');
    for (const c of [access, refresh]) {
      assert.ok(c, 'cookie stored');
      assert.equal(c.httpOnly, true);
      assert.equal(c.secure, true);
      assert.equal(c.sameSite, 'Lax');
      assert.equal(c.path, '/');
    }
    assert.equal(refresh.expires, -1, 'without "remember me", a browser-session cookie');
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes('__Host-'), `script saw: ${visible}`);
    await context.close();
  });

  test('"remember me" keeps the refresh cookie for 30 days', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'alice', PASSWORD, true);
    await page.waitForURL(/\/dashboard$/);
    const refresh = (await context.cookies()).find((c) => c.name === '__Host-refresh');
    const days = (refresh.expires - Date.now() / 1000) / 86400;
    assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
    await context.close();
  });

  test('a wrong password gets the one generic message; sign-out ends the session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'alice', 'not the right password');
    assert.match(await page.textContent('main'), /Invalid username or password\./);
    await signIn(page, server.base, 'alice');
    await page.waitForURL(/\/dashboard$/);
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login\?notice=signed_out/);
    assert.match(await page.textContent('main'), /You have been signed out/);
    const names = (await context.cookies()).map((c) => c.name);
    assert.ok(!names.includes('__Host-access') && !names.includes('__Host-refresh'), names.join());
    await page.goto(`${server.base}/dashboard`);
    assert.match(page.url(), /\/login\?next=%2Fdashboard$/);
    await context.close();
  });
});

describe('sessions over time and across devices', () => {
  let server;
  before(async () => {
    server = await startServer({ access_token_ttl: 10 });
    await server.createUser('bob');
  });
  after(async () => { await server.stop(); });

  test('an expired access token is renewed silently from the refresh cookie', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'bob');
    await page.waitForURL(/\/dashboard$/);
    const first = (await context.cookies()).find((c) => c.name === '__Host-access').value;
    await page.waitForTimeout(11_000); // the access cookie has expired in the browser
    assert.ok(!(await context.cookies()).some((c) => c.name === '__Host-access'), 'access cookie gone');
    const r = await page.goto(`${server.base}/dashboard`);
    assert.equal(r.status(), 200);
    assert.match(await page.textContent('main'), /bob/);
    const second = (await context.cookies()).find((c) => c.name === '__Host-access').value;
    assert.notEqual(first, second, 'a new access token');
    await context.close();
  });

  test('one device signs another out; changing the password signs out the rest', async () => {
    const laptop = await browser.newContext({ userAgent: 'Laptop browser' });
    const phone = await browser.newContext({ userAgent: 'Phone browser' });
    const lp = await laptop.newPage();
    const pp = await phone.newPage();
    await signIn(lp, server.base, 'bob');
    await signIn(pp, server.base, 'bob');
    await lp.goto(`${server.base}/account`);
    const phoneRow = lp.getByRole('row').filter({ hasText: 'Phone browser' });
    await phoneRow.getByRole('button', { name: 'Sign out that device' }).click();
    await lp.waitForURL(/notice=session_revoked/);
    await pp.goto(`${server.base}/dashboard`);
    assert.match(pp.url(), /\/login/, 'the phone is signed out at once');

    await signIn(pp, server.base, 'bob');
    await lp.goto(`${server.base}/account/password`);
    await lp.getByLabel('Current password').fill(PASSWORD);
    await lp.getByLabel('New password', { exact: true }).fill('a different long passphrase now');
    await lp.getByLabel('New password again').fill('a different long passphrase now');
    await lp.getByRole('button', { name: /Change password/ }).click();
    await lp.waitForURL(/notice=password_changed/);
    await pp.goto(`${server.base}/account`);
    assert.match(pp.url(), /\/login/, 'other sessions end with the password change');
    await lp.goto(`${server.base}/dashboard`);
    assert.equal(new URL(lp.url()).pathname, '/dashboard', 'this device stays signed in');
    await laptop.close();
    await phone.close();
  });
});

describe('administration', () => {
  let server;
  before(async () => {
    server = await startServer();
    await server.createUser('boss', 'admin');
  });
  after(async () => { await server.stop(); });

  test('create an account, which must choose its own password; disable; delete', async () => {
    const admin = await (await browser.newContext()).newPage();
    await signIn(admin, server.base, 'boss');
    await admin.goto(`${server.base}/admin/users/new`);
    await admin.getByLabel('Username').fill('newcomer');
    await admin.getByLabel('Role').selectOption('user');
    await admin.getByLabel('Initial password').fill('initial password from the admin');
    await admin.getByRole('button', { name: 'Create account' }).click();
    await admin.waitForURL(/\/admin\/users\/\d+\?notice=created/);
    const detail = admin.url().split('?')[0];

    const user = await (await browser.newContext()).newPage();
    await signIn(user, server.base, 'newcomer', 'initial password from the admin');
    await user.waitForURL(/\/account\/password/);
    assert.match(await user.textContent('main'), /Choose a new password before you continue/);
    await user.goto(`${server.base}/dashboard`);
    assert.match(user.url(), /\/account\/password/, 'no other page before the change');
    await user.getByLabel('Current password').fill('initial password from the admin');
    await user.getByLabel('New password', { exact: true }).fill('my very own passphrase');
    await user.getByLabel('New password again').fill('my very own passphrase');
    await user.getByRole('button', { name: /Change password/ }).click();
    await user.goto(`${server.base}/dashboard`);
    assert.equal(new URL(user.url()).pathname, '/dashboard');

    await admin.goto(detail);
    await admin.getByRole('button', { name: /Disable account/ }).click();
    await admin.waitForURL(/notice=disabled/);
    await user.goto(`${server.base}/dashboard`);
    assert.match(user.url(), /\/login/, 'disabled: signed out at once');

    await admin.getByLabel(/to delete this account/).fill('newcomer');
    await admin.getByRole('button', { name: 'Delete account' }).click();
    await admin.waitForURL(/\/admin\/users\?notice=deleted/);
    assert.equal((await admin.goto(detail)).status(), 404);
    await admin.context().close();
    await user.context().close();
  });
});

describe('plain HTTP for testing (cookie_secure = false)', () => {
  let server;
  before(async () => {
    server = await startServer({ cookie_secure: false });
    await server.createUser('lan-tester');
  });
  after(async () => { await server.stop(); });

  test('signing in works: the cookies carry no __Host- prefix, which browsers refuse without Secure', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, 'lan-tester');
    await page.waitForURL(/\/dashboard$/);
    assert.match(await page.textContent('main'), /lan-tester/);
    const names = (await context.cookies()).map((c) => c.name);
    assert.ok(names.includes('gatehouse-access') && names.includes('gatehouse-refresh'), names.join());
    assert.ok(!names.some((n) => n.startsWith('__Host-') || n.startsWith('__Secure-')), names.join());
    // The refresh cookie works too: without the access cookie the next page still opens.
    await context.clearCookies({ name: 'gatehouse-access' });
    await page.goto(`${server.base}/account`);
    assert.match(page.url(), /\/account$/);
    await context.close();
  });
});

describe('languages', () => {
  let server;
  before(async () => {
    server = await startServer();
    await server.createUser('minji');
  });
  after(async () => { await server.stop(); });

  test('Korean from Accept-Language; the switch changes it and is remembered', async () => {
    const context = await browser.newContext({ locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(`${server.base}/login`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ko');
    assert.match(await page.textContent('h1'), /로그인/);
    await page.getByRole('link', { name: 'English' }).click();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.goto(`${server.base}/login`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the choice outlives Accept-Language');
    await page.getByRole('link', { name: '한국어' }).click();
    await page.getByLabel('사용자 이름').fill('minji');
    await page.getByLabel('비밀번호').fill(PASSWORD);
    await page.getByRole('button', { name: '로그인' }).click();
    await page.waitForURL(/\/dashboard$/);
    assert.match(await page.textContent('main'), /로그인한 사용자[\s\S]*minji/);
    await context.close();
  });
});
