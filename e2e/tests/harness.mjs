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
  // A setting may depend on the server's own address (e.g. public_url: (base) => base).
  for (const [k, v] of Object.entries(settings)) {
    env[`ROCKET_${k.toUpperCase()}`] = String(typeof v === 'function' ? v(`http://127.0.0.1:${port}`) : v);
  }
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
    /** Runs another command of the binary with the server's settings; resolves with its output. */
    run(args, input = '') {
      return new Promise((ok, fail) => {
        const p = spawn(BINARY, args, { cwd: ROOT, env });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.stdin.end(input);
        p.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`${args.join(' ')}: ${code}\n${err}`))));
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
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

/** A real SMTP server (Python's aiosmtpd from GATEHOUSE_TEST_PYTHON) keeping mail in a
 * Maildir; `messages()` reads what arrived. */
export async function startSmtp() {
  const python = process.env.GATEHOUSE_TEST_PYTHON;
  if (!python) throw new Error('GATEHOUSE_TEST_PYTHON must name a Python with aiosmtpd (.ci/run makes one)');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-smtp-'));
  const port = await freePort();
  const child = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`,
    '-c', 'aiosmtpd.handlers.Mailbox', join(dir, 'box')], { stdio: 'ignore' });
  const { connect } = await import('node:net');
  for (let i = 0; ; i++) {
    const up = await new Promise((ok) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); ok(true); });
      s.on('error', () => ok(false));
    });
    if (up) break;
    if (i > 200) throw new Error('aiosmtpd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { readdirSync, readFileSync, statSync } = await import('node:fs');
  const messages = () => {
    let files = [];
    try { files = readdirSync(join(dir, 'box', 'new')).map((f) => join(dir, 'box', 'new', f)); } catch {}
    return files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).map((f) => readFileSync(f, 'utf8'));
  };
  const seen = new Set();
  return {
    url: `smtp://127.0.0.1:${port}?tls=none`,
    messages,
    /** Waits for a message not returned before whose text has a link to `base` + a path
     * matching `path` (a RegExp); returns `{ raw, link }`. */
    async waitForLink(base, path) {
      for (let i = 0; i < 400; i++) {
        for (const raw of messages()) {
          if (seen.has(raw)) continue;
          let link;
          try { link = linkIn(raw, base); } catch { continue; }
          if (path.test(new URL(link).pathname + new URL(link).search)) {
            seen.add(raw);
            return { raw, link };
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail with a link matching ${path}`);
    },
    /** Waits for the `n`th message (1-based) and returns it. */
    async waitFor(n) {
      for (let i = 0; i < 400; i++) {
        const got = messages();
        if (got.length >= n) return got[n - 1];
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`mail ${n} did not arrive`);
    },
    /** Runs another command of the binary with the server's settings; resolves with its output. */
    run(args, input = '') {
      return new Promise((ok, fail) => {
        const p = spawn(BINARY, args, { cwd: ROOT, env });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.stdin.end(input);
        p.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`${args.join(' ')}: ${code}\n${err}`))));
      });
    },
    async stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The text part of a raw mail, decoded (quoted-printable or base64). */
export function textPart(raw) {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    if (!/content-type:\s*text\/plain/i.test(head)) continue;
    const body = rest.join('\n\n');
    if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
      const bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return bytes.toString('utf8');
    }
    return body;
  }
  throw new Error(`no text part in:\n${raw}`);
}

/** The link to `base` in a mail's text. */
export function linkIn(raw, base) {
  const text = textPart(raw);
  const m = text.match(new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^\\s]+`));
  if (!m) throw new Error(`no link to ${base} in:\n${text}`);
  return m[0];
}
