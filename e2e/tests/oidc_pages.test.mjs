// axe-core (WCAG 2.1 A and AA) on the OpenID Connect pages, in both languages and both
// colour schemes: consent, the logout confirmation, the apps you allowed, and the
// administrators' client pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BINARY, launch, signIn, startServer } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const KEY = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const CALLBACK = 'http://127.0.0.1:9/cb';

let browser, server, keys, clientId, admin;

before(async () => {
  keys = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-key-'));
  const rsa = spawnSync(BINARY, ['generate-key', '--alg', 'RS256'], { encoding: 'utf8' });
  writeFileSync(join(keys, 'rsa.pem'), rsa.stdout, { mode: 0o600 });
  server = await startServer({
    public_url: (base) => base,
    jwt_keys: `[{kid="k1",secret="${KEY}"},{kid="rsa1",alg="RS256",private_key_file="${join(keys, 'rsa.pem')}"}]`,
  });
  await server.createUser('boss', 'admin');
  const out = await server.run(['create-client', 'Wiki', '--redirect-uri', CALLBACK, '--no-pkce']);
  clientId = out.match(/^client_id: (.+)$/m)[1];
  browser = await launch();
  admin = await (await browser.newContext()).newPage();
  await signIn(admin, server.base, 'boss');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (keys) rmSync(keys, { recursive: true, force: true });
});

async function audit(url, status = 200) {
  const response = await admin.goto(`${server.base}${url}`);
  assert.equal(response.status(), status, url);
  const found = [];
  for (const scheme of ['light', 'dark']) {
    await admin.emulateMedia({ colorScheme: scheme });
    await admin.evaluate(AXE);
    const result = await admin.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
    for (const v of result.violations) {
      found.push(`${scheme}: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`);
    }
  }
  await admin.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(found, [], `axe violations on ${url}:\n${found.join('\n')}`);
}

for (const lang of ['en', 'ko']) {
  const q = (path) => `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;
  test(`consent page (${lang})`, () =>
    audit(q(`/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(CALLBACK)}&response_type=code&scope=openid%20profile%20groups&state=s`)));
  test(`logout confirmation (${lang})`, () => audit(q('/oauth2/logout')));
  test(`apps you allowed (${lang})`, () => audit(q('/account/apps')));
  test(`client list (${lang})`, () => audit(q('/admin/clients')));
  test(`new client (${lang})`, () => audit(q('/admin/clients/new')));
  test(`one client (${lang})`, () => audit(q(`/admin/clients/${clientId}`)));
  test(`unknown client: a 400 page (${lang})`, () => audit(q('/oauth2/authorize?client_id=nobody'), 400));
}
