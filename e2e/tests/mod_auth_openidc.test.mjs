// Debian's Apache with mod_auth_openidc guarding a page on loopback, in headless
// Chromium: the person opens the protected page, signs in at Gatehouse, allows the app,
// comes back and sees the page with their preferred_username and groups; signs out at
// Gatehouse, and the next request to the page is refused (back-channel logout).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BINARY, freePort, launch, PASSWORD, startServer } from './harness.mjs';

const APACHE = process.env.APACHE || '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const KEY = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';

let browser, gatehouse, apache, dir, app;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-apache-'));
  chmodSync(dir, 0o755);
  const rsa = spawnSync(BINARY, ['generate-key', '--alg', 'RS256'], { encoding: 'utf8' });
  assert.equal(rsa.status, 0, rsa.stderr);
  writeFileSync(join(dir, 'rsa.pem'), rsa.stdout, { mode: 0o600 });
  // Gatehouse at http://localhost:<port>, the app at http://127.0.0.1:<port>: two hosts,
  // so two sets of cookies.
  gatehouse = await startServer({
    public_url: (base) => base.replace('127.0.0.1', 'localhost'),
    cookie_secure: 'false',
    jwt_keys: `[{kid="k1",secret="${KEY}"},{kid="rsa1",alg="RS256",private_key_file="${join(dir, 'rsa.pem')}"}]`,
  });
  gatehouse.issuer = gatehouse.base.replace('127.0.0.1', 'localhost');
  await gatehouse.createUser('alice', 'admin');
  const port = await freePort();
  app = `http://127.0.0.1:${port}`;
  const out = await gatehouse.run([
    'create-client', 'Apache app',
    '--redirect-uri', `${app}/protected/redirect_uri`,
    '--backchannel-logout-uri', `${app}/protected/redirect_uri?logout=backchannel`,
  ]);
  const clientId = out.match(/^client_id: (.+)$/m)[1];
  const secret = out.match(/^client_secret: (.+)$/m)[1];
  mkdirSync(join(dir, 'www', 'protected'), { recursive: true });
  writeFileSync(join(dir, 'www', 'protected', 'index.shtml'), `<!doctype html><html lang="en"><title>App</title>
<h1>Hello, <span id="who"><!--#echo var="REMOTE_USER" --></span></h1>
<p>Groups: <span id="groups"><!--#echo var="OIDC_CLAIM_groups" --></span></p>`);
  for (const d of [join(dir, 'www'), join(dir, 'www', 'protected')]) chmodSync(d, 0o755);
  const load = ['mpm_event', 'authz_core', 'authn_core', 'authz_user', 'auth_openidc', 'include', 'mime', 'dir']
    .map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n');
  writeFileSync(join(dir, 'apache.conf'), `${load}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/apache.pid
DefaultRuntimeDir ${dir}
ErrorLog ${dir}/apache-error.log
LogLevel warn auth_openidc:debug
User nobody
Group nogroup
TypesConfig /etc/mime.types
DocumentRoot ${dir}/www
DirectoryIndex index.shtml
<Directory ${dir}/www>
  Options +Includes
  AddType text/html .shtml
  AddOutputFilter INCLUDES .shtml
  Require all granted
</Directory>
OIDCProviderMetadataURL ${gatehouse.issuer}/.well-known/openid-configuration
OIDCClientID ${clientId}
OIDCClientSecret ${secret}
OIDCRedirectURI ${app}/protected/redirect_uri
OIDCCryptoPassphrase ${KEY}
OIDCScope "openid profile groups"
OIDCPKCEMethod S256
OIDCRemoteUserClaim preferred_username
OIDCSessionType server-cache
OIDCCacheType shm
OIDCDefaultLoggedOutURL ${app}/
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
`);
  apache = spawn(APACHE, ['-f', join(dir, 'apache.conf'), '-DFOREGROUND'], { stdio: 'inherit' });
  for (let i = 0; ; i++) {
    try {
      await fetch(`${app}/`);
      break;
    } catch {}
    if (i > 100) throw new Error('apache did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (apache) {
    apache.kill('SIGTERM');
    await new Promise((r) => apache.on('exit', r));
  }
  await gatehouse?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('mod_auth_openidc signs the person in through Gatehouse and out by back-channel logout', async () => {
  const page = await browser.newPage();
  const base = gatehouse.issuer;
  // Alice is in the group ops (made on the admin pages).
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  await page.goto(`${base}/admin/groups`);
  await page.getByLabel('Name').fill('ops');
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Create group' }).click()]);
  await page.goto(`${base}/admin/users/1`);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Add', exact: true }).click()]);
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign out' }).click()]);

  // The protected page sends the browser to Gatehouse; sign in, allow, and back.
  await page.goto(`${app}/protected/`);
  assert.match(page.url(), new RegExp(`^${base}/login`));
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
  await page.waitForURL(/\/oauth2\/authorize/);
  assert.match(await page.textContent('body'), /Apache app/);
  await Promise.all([page.waitForURL(`${app}/protected/**`), page.getByRole('button', { name: 'Allow' }).click()]);
  assert.equal(await page.textContent('#who'), 'alice');
  assert.match(await page.textContent('#groups'), /ops/);

  // Signing out at Gatehouse ends the app's session too.
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign out' }).click()]);
  let refused = false;
  for (let i = 0; i < 50 && !refused; i++) {
    await page.goto(`${app}/protected/`);
    refused = !page.url().startsWith(`${app}/protected`);
    if (!refused) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(refused, `still in: ${page.url()}`);
  // It was Gatehouse's logout token that ended it.
  assert.match(readFileSync(join(dir, 'apache-error.log'), 'utf8'), /oidc_handle_logout_backchannel/);
  assert.match(page.url(), new RegExp(`^${base}/login`));
});
