// Guarding another app in a real browser, through nginx with TLS: the app's page sends
// the browser to sign in on Gatehouse, which sends it back; the app sees who it is; a
// sign-out on Gatehouse closes the app at once. Host names *.gh.test resolve to 127.0.0.1
// by Chromium's resolver rules; the certificate is made here with openssl.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, launch, PASSWORD, startServer } from './harness.mjs';

const NGINX = process.env.NGINX || '/usr/sbin/nginx';

let browser, gatehouse, nginx, upstream, port;

before(async () => {
  port = await freePort();
  gatehouse = await startServer({
    trusted_proxies: '["127.0.0.1"]',
    public_url: `https://auth.gh.test:${port}`,
    cookie_domain: 'gh.test',
  });
  await gatehouse.createUser('alice');
  const dir = gatehouse.dir;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '1', '-subj', '/CN=gh.test', '-addext', 'subjectAltName=DNS:*.gh.test',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  const upstreamPort = await freePort();
  upstream = createServer((req, res) => {
    const who = String(req.headers['remote-user'] || '').replace(/[^a-z0-9._-]/gi, '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><title>App</title><h1>Hello, <span id="who">${who}</span></h1>`);
  }).listen(upstreamPort, '127.0.0.1');
  const ghPort = new URL(gatehouse.base).port;
  const tls = `listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/tls.crt; ssl_certificate_key ${dir}/tls.key;`;
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1;
pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/nb; proxy_temp_path ${dir}/np; fastcgi_temp_path ${dir}/nf;
  uwsgi_temp_path ${dir}/nu; scgi_temp_path ${dir}/ns;
  server {
    ${tls} server_name auth.gh.test;
    location / {
      proxy_pass http://127.0.0.1:${ghPort};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
  server {
    ${tls} server_name app.gh.test;
    location = /_gatehouse {
      internal;
      proxy_pass http://127.0.0.1:${ghPort}/auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$server_name:$server_port$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_gatehouse;
      auth_request_set $gh_user $upstream_http_remote_user;
      auth_request_set $gh_cookie $upstream_http_set_cookie;
      auth_request_set $gh_location $upstream_http_location;
      add_header Set-Cookie $gh_cookie;
      proxy_set_header Remote-User $gh_user;
      proxy_pass http://127.0.0.1:${upstreamPort};
      error_page 401 = @sign_in;
    }
    location @sign_in { return 302 $gh_location; }
  }
}
`);
  nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  browser = await launch(['--ignore-certificate-errors', '--host-resolver-rules=MAP *.gh.test 127.0.0.1']);
});

after(async () => {
  await browser?.close();
  nginx?.kill();
  upstream?.close();
  await gatehouse?.stop();
});

test('an app behind nginx sends the browser to sign in, then sees who it is, until sign-out', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const app = `https://app.gh.test:${port}/hello?x=1`;
  await page.goto(app);
  assert.match(page.url(), new RegExp(`^https://auth\\.gh\\.test:${port}/login\\?rd=`));
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(app);
  assert.equal(await page.textContent('#who'), 'alice');
  const cookies = await context.cookies();
  const access = cookies.find((c) => c.name === '__Secure-access');
  assert.ok(access, cookies.map((c) => c.name).join());
  assert.equal(access.domain, '.gh.test');
  assert.equal(access.secure, true);
  assert.equal(access.httpOnly, true);
  // Sign out on Gatehouse: the app refuses the very next request.
  await page.goto(`https://auth.gh.test:${port}/logout`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login\?notice=signed_out/);
  await page.goto(app);
  assert.match(page.url(), /\/login\?rd=/);
  await context.close();
});
