// Shared pieces: a release Gatehouse on a temp database, and Debian's Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const PASSWORD = 'correct horse battery staple';
const KEY = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const ROOT = resolve(import.meta.dirname, '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');
export const BINARY = process.env.GATEHOUSE_BIN || join(TARGET, 'release', 'gatehouse');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Starts the release server; resolves once it answers, with its setup URL (if any). */
export async function startServer(settings = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  const port = await freePort();
  const env = {
    ...process.env,
    ROCKET_PROFILE: 'release',
    ROCKET_PORT: String(port),
    ROCKET_DATABASE_URL: join(dir, 'e2e.sqlite'),
    ROCKET_DATA_DIR: dir,
    ROCKET_BCRYPT_COST: '4',
    ROCKET_JWT_KEYS: `[{kid="k1",secret="${KEY}"}]`,
    ROCKET_ENCRYPTION_KEY: KEY,
    // Tests of the second factor ask for it; the rest sign in with a password alone.
    ROCKET_REQUIRE_2FA: 'none',
    ROCKET_LOG_LEVEL: 'critical',
  };
  for (const [k, v] of Object.entries(settings)) env[`ROCKET_${k.toUpperCase()}`] = String(v);
  const child = spawn(BINARY, ['serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 300) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const setup = output.match(/http:\/\/[^\s]+\/setup\?token=[A-Za-z0-9_-]+/);
  return {
    base,
    dir,
    setupUrl: setup ? setup[0].replace(/^http:\/\/[^/]+/, base) : null,
    createUser(name, role = 'user', password = PASSWORD) {
      return new Promise((ok, fail) => {
        const p = spawn(BINARY, ['create-user', name, '--role', role, '--password-stdin'], { cwd: ROOT, env });
        p.stdin.end(password);
        p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`create-user ${name}: ${code}`))));
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

export { freePort };

/** Signs in through the form, as a person would. */
export async function signIn(page, base, name, password = PASSWORD, remember = false) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(password);
  if (remember) await page.getByLabel(/Keep me signed in/).check();
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign in' }).click()]);
}
