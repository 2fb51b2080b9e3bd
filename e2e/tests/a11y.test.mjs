// axe-core (WCAG 2.1 A and AA) on every page, in the light and the dark scheme, and
// screenshots of the main pages at 375 and 1440 pixels for the README.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, PASSWORD, signIn, startServer } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let browser, server, admin, user, anon, userId;
before(async () => {
  browser = await launch();
  server = await startServer();
  await server.createUser('boss', 'admin');
  await server.createUser('alice');
  await server.createUser('locked-out');
  admin = await (await browser.newContext()).newPage();
  await signIn(admin, server.base, 'boss');
  user = await (await browser.newContext({ userAgent: 'Firefox on a laptop' })).newPage();
  await signIn(user, server.base, 'alice');
  anon = await (await browser.newContext()).newPage();
  await admin.goto(`${server.base}/admin/users?q=alice`);
  userId = (await admin.getAttribute('a[href^="/admin/users/"]:text("alice")', 'href')).split('/').pop();
  for (let i = 0; i < 6; i++) await signIn(anon, server.base, 'locked-out', 'wrong password here');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function audit(page, url, expectedStatus) {
  const response = await page.goto(`${server.base}${url}`);
  if (expectedStatus) assert.equal(response.status(), expectedStatus, url);
  const found = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate(AXE); // via the DevTools protocol: the page's CSP forbids scripts
    const result = await page.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
    for (const v of result.violations) {
      found.push(`${scheme}: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(found, [], `axe violations on ${url}:\n${found.join('\n')}`);
}

test('sign-in page', () => audit(anon, '/login', 200));
// In contexts of their own: the choice of Korean is remembered in a cookie.
test('sign-in page in Korean', async () => audit(await (await browser.newContext()).newPage(), '/login?lang=ko', 200));
test('account page in Korean', async () => {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, server.base, 'alice');
  await audit(page, '/account?lang=ko', 200);
});
test('sign-in page with an error', async () => {
  await signIn(anon, server.base, 'nobody-at-all', 'wrong password here');
  await audit(anon, '/login?notice=signed_out', 200);
});
test('setup page', () => audit(anon, new URL(server.setupUrl).pathname + new URL(server.setupUrl).search, 200));
test('dashboard', () => audit(user, '/dashboard', 200));
test('account', () => audit(user, '/account', 200));
test('password change', () => audit(user, '/account/password', 200));
test('sign-out confirmation', () => audit(user, '/logout', 200));
test('admin: account list', () => audit(admin, '/admin/users', 200));
test('admin: account detail', () => audit(admin, `/admin/users/${userId}`, 200));
test('admin: new account', () => audit(admin, '/admin/users/new', 200));
test('admin: audit log', () => audit(admin, '/admin/audit', 200));
test('admin: groups, and membership on an account, in both languages', async () => {
  await admin.goto(`${server.base}/admin/groups`);
  await admin.getByLabel('Name').fill('ops');
  await admin.getByRole('button', { name: 'Create group' }).click();
  await admin.waitForURL(/notice=group_created/);
  await audit(admin, '/admin/groups', 200);
  await audit(admin, '/admin/groups?lang=ko', 200);
  await admin.goto(`${server.base}/admin/users/${userId}?lang=en`);
  await admin.getByRole('button', { name: 'Add' }).click();
  await admin.waitForURL(/notice=groups_changed/);
  await audit(admin, `/admin/users/${userId}`, 200);
  await audit(admin, `/admin/users/${userId}?lang=ko`, 200);
  await admin.goto(`${server.base}/admin/users?lang=en`);
});
test('error page 404', () => audit(anon, '/no-such-page', 404));
test('error page 403', () => audit(user, '/admin/users', 403));
/** Turns the next navigation to `url` into a POST with `body`, to reach error pages. */
async function postInstead(page, url, body, expected) {
  const target = `${server.base}${url}`;
  await page.route(target, (route) =>
    route.continue({ method: 'POST', postData: body, headers: { ...route.request().headers(), 'content-type': 'application/x-www-form-urlencoded' } }));
  await audit(page, url, expected);
  await page.unroute(target);
}
/** A browser that has been shown the sign-in form (a body from anyone else is refused unread, 403). */
async function pageWithForm() {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.base}/login`);
  return page;
}
test('error page 422', async () => postInstead(await pageWithForm(), '/login', 'username=only', 422));
test('error page 413', async () => postInstead(await pageWithForm(), '/login', 'x=' + 'a'.repeat(64 * 1024), 413));

test('error page 429', async () => {
  await anon.goto(`${server.base}/login`);
  await anon.getByLabel('Username').fill('locked-out');
  await anon.getByLabel('Password').fill(PASSWORD);
  const [response] = await Promise.all([anon.waitForResponse((r) => r.request().method() === 'POST'), anon.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  assert.equal(response.status(), 429);
  const found = [];
  await anon.evaluate(AXE);
  const result = await anon.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
  for (const v of result.violations) found.push(`${v.id}: ${v.help}`);
  assert.deepEqual(found, []);
});

test('every page has one h1, a lang, a skip link, and labelled inputs', async () => {
  for (const [page, url] of [[anon, '/login'], [user, '/account'], [user, '/account/password'], [admin, `/admin/users/${userId}`]]) {
    await page.goto(`${server.base}${url}`);
    assert.equal(await page.locator('h1').count(), 1, url);
    assert.ok(await page.getAttribute('html', 'lang'), url);
    assert.equal(await page.getAttribute('a.skip', 'href'), '#main', url);
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]):not([hidden]), select')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map((el) => el.name));
    assert.deepEqual(unlabeled, [], url);
  }
});

test('screenshots of the main pages at 375 and 1440 pixels', async () => {
  mkdirSync(SHOTS, { recursive: true });
  const pages = [
    ['login', anon, '/login'],
    ['dashboard', user, '/dashboard'],
    ['account', user, '/account'],
    ['admin-users', admin, '/admin/users'],
    ['admin-user', admin, `/admin/users/${userId}`],
  ];
  for (const width of [375, 1440]) {
    for (const [name, page, url] of pages) {
      await page.setViewportSize({ width, height: width < 600 ? 812 : 900 });
      await page.goto(`${server.base}${url}`);
      await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
    }
  }
  await anon.setViewportSize({ width: 1440, height: 900 });
  const korean = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await korean.goto(`${server.base}/login?lang=ko`);
  await korean.screenshot({ path: join(SHOTS, 'login-ko-1440.png') });
  await anon.emulateMedia({ colorScheme: 'dark' });
  await anon.goto(`${server.base}/login`);
  await anon.screenshot({ path: join(SHOTS, 'login-dark-1440.png') });
  await anon.emulateMedia({ colorScheme: 'light' });
});

test('control: axe does report a planted violation', async () => {
  await anon.goto(`${server.base}/login`);
  await anon.evaluate(() => {
    const bad = document.createElement('input');
    bad.name = 'unlabelled';
    document.querySelector('main').append(bad, Object.assign(document.createElement('img'), { src: '/static/none.png' }));
  });
  await anon.evaluate(AXE);
  const result = await anon.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
  const ids = result.violations.map((v) => v.id);
  assert.ok(ids.includes('label') && ids.includes('image-alt'), ids.join());
});
