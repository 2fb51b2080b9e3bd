// Phones: at 375 pixels wide no page scrolls sideways, in English and in Korean. Tables
// become stacked rows; long values (a browser's User-Agent, an address) wrap.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, signIn, startServer } from './harness.mjs';

const LONG_UA = 'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36 SomeEmbeddedApp/12.34.56-with-a-very-long-build-identifier';

let browser, server, userId;
const pages = {};
before(async () => {
  browser = await launch();
  server = await startServer({
    signup: 'open',
    smtp_url: 'smtp://127.0.0.1:9?tls=none',
    public_url: (base) => base,
    mail_from: 'auth@gh.test',
  });
  await server.createUser('boss', 'admin');
  await server.createUser('alice-with-a-rather-long-name');
  const phone = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
  pages.anon = await (await browser.newContext(phone)).newPage();
  pages.user = await (await browser.newContext({ ...phone, userAgent: LONG_UA })).newPage();
  pages.admin = await (await browser.newContext(phone)).newPage();
  await signIn(pages.user, server.base, 'alice-with-a-rather-long-name');
  await signIn(pages.admin, server.base, 'boss');
  await pages.admin.goto(`${server.base}/admin/users?q=alice`);
  userId = (await pages.admin.getAttribute('a[href^="/admin/users/"]:text("alice")', 'href')).split('/').pop();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** [who, path] of every page. */
const everyPage = () => [
  ['anon', '/login'],
  ['anon', '/signup'],
  ['anon', '/password/forgot'],
  ['anon', new URL(server.setupUrl).pathname + new URL(server.setupUrl).search],
  ['anon', '/no-such-page'],
  ['user', '/dashboard'],
  ['user', '/account'],
  ['user', '/account/password'],
  ['user', '/account/2fa'],
  ['user', '/account/email'],
  ['user', '/logout'],
  ['user', '/admin/users'],
  ['admin', '/admin/users'],
  ['admin', `/admin/users/${userId}`],
  ['admin', '/admin/users/new'],
  ['admin', '/admin/audit'],
  ['admin', '/admin/groups'],
];

for (const lang of ['en', 'ko']) {
  test(`no page scrolls sideways at 375 px (${lang})`, async () => {
    const wide = [];
    for (const [who, path] of everyPage()) {
      const page = pages[who];
      const sep = path.includes('?') ? '&' : '?';
      await page.goto(`${server.base}${path}${sep}lang=${lang}`);
      const { scroll, inner, inside } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
        // Nor may anything scroll sideways inside the page (a table in a scroll box).
        inside: [...document.querySelectorAll('main *')]
          .filter((el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1)
          .map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} ${el.scrollWidth}/${el.clientWidth}px`),
      }));
      assert.equal(inner, 375, path);
      if (scroll > inner) wide.push(`${who} ${path}: ${scroll}px`);
      for (const box of inside) wide.push(`${who} ${path}: ${box}`);
    }
    assert.deepEqual(wide, [], `pages wider than the screen (${lang}):\n${wide.join('\n')}`);
  });
}

test('control: a page made wider is caught', async () => {
  const page = pages.anon;
  await page.goto(`${server.base}/login`);
  await page.evaluate(() => {
    const wide = document.createElement('div');
    wide.style.width = '600px';
    wide.textContent = 'wide';
    document.querySelector('main').append(wide);
  });
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll > 375, `${scroll}`);
});
