// Starts the real sitegpt-server on a free port with a fresh data directory,
// and gives tests the helpers they need around it. With
// SITEGPT_E2E_POSTGRES_URL (a superuser URL) each server gets a new
// PostgreSQL database instead of the SQLite default.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = process.env.SITEGPT_SERVER_BIN ?? join(root, 'target', 'debug', 'sitegpt-server');

/** A new, empty PostgreSQL database when the tests run on PostgreSQL. */
export function databaseUrl() {
  const admin = process.env.SITEGPT_E2E_POSTGRES_URL;
  if (!admin) return '';
  const name = `e2e_${randomBytes(8).toString('hex')}`;
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`]);
  return admin.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
}

export async function startServer() {
  if (!existsSync(binary)) throw new Error(`build the server first: ${binary} is missing`);
  const dataDir = mkdtempSync(join(tmpdir(), 'sitegpt-e2e-'));
  const database = databaseUrl();
  const env = { ...process.env, SITEGPT_DATA_DIR: dataDir, SITEGPT_DATABASE_URL: database, SITEGPT_PUBLIC_URL: '' };
  const { base, logs, stop } = await spawnServer(binary, { ...env, SITEGPT_LISTEN: '127.0.0.1:0', SITEGPT_LOG: 'info' },
    'sitegpt-server is listening');
  return {
    base,
    dataDir,
    logs,
    stop,
    /**
     * The verification link of the newest mail to `email` in the outbox,
     * once the server's mail worker has written it (within ten seconds).
     */
    async verificationLink(email) {
      return this.mailLink(email, '/verify-email?token=');
    },
    /**
     * The link starting with `path` in the newest mail to `email` that has
     * one, once the server's mail worker has written it (within ten seconds).
     */
    async mailLink(email, path) {
      const dir = join(dataDir, 'outbox');
      const deadline = Date.now() + 10_000;
      for (;;) {
        const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.includes(email)).sort().reverse() : [];
        for (const file of files) {
          const mail = readFileSync(join(dir, file), 'utf8');
          const link = mail.split(/\s+/).find((word) => /^https?:\/\//.test(word) && word.includes(path));
          if (link) return link;
        }
        if (Date.now() > deadline) throw new Error(`no mail with ${path} to ${email} in ${dir}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** Runs `sitegpt-server admin ARGS…` on this server's database; its JSON answer. */
    admin(...args) {
      return JSON.parse(execFileSync(binary, ['admin', ...args], { env, encoding: 'utf8' }));
    },
    async form(path, params) {
      const response = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

/**
 * Starts `binary serve` with `env` (listening on port 0) and waits for the
 * JSON log line `ready`, whose `listen` field is the address; the base URL,
 * everything logged so far, and a stop that waits for the exit.
 */
export async function spawnServer(binary, env, ready) {
  const child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      for (const line of log.split('\n')) {
        try {
          const event = JSON.parse(line);
          if (event.message === ready) {
            clearTimeout(timer);
            resolveBase(`http://${event.listen}`);
          }
        } catch { /* not a whole JSON line yet */ }
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    base,
    logs: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
