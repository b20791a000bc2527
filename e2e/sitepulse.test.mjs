// SitePulse's Settings → API tokens in headless Chromium, against the real
// sitepulse-server: sign in, create a token from a documented scope
// combination (shown once), use it on API v1, revoke it after a
// confirmation; on a desktop and on a phone, with screenshots. And MCP
// clients on the official TypeScript SDK: signing in through the browser
// (OAuth), and with a scoped token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, screenshot, fitsWidth } from './browser.mjs';
import { databaseUrl, spawnServer } from './server.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { MemoryProvider, callbackServer } from './flows.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = process.env.SITEPULSE_SERVER_BIN ?? join(root, 'target', 'debug', 'sitepulse-server');

async function startPulse() {
  if (!existsSync(binary)) throw new Error(`build the server first: ${binary} is missing`);
  const env = {
    ...process.env,
    SITEPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'sitepulse-e2e-')),
    SITEPULSE_DATABASE_URL: databaseUrl(),
    SITEPULSE_RUN_CHECKS: 'false',
    SITEPULSE_LOG_FORMAT: 'json',
  };
  if (!env.SITEPULSE_DATABASE_URL) delete env.SITEPULSE_DATABASE_URL;
  const admin = (...args) => JSON.parse(execFileSync(binary, ['admin', ...args], { env, encoding: 'utf8' }));
  admin('create-user', '--email', 'ada@example.com', '--password', 'correct horse battery', '--verified');
  const team = admin('create-team', '--owner-email', 'ada@example.com', '--name', 'Ops').team;
  const server = await spawnServer(binary, { ...env, SITEPULSE_LISTEN: '127.0.0.1:0' }, 'sitepulse-server is listening');
  return { ...server, team, admin };
}

async function api(base, token) {
  const response = await fetch(`${base}/api/v1/teams`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  return response.status;
}

for (const [device, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
  test(`SitePulse API tokens on a ${device}: create from a combination, shown once, revoke`, async () => {
    const server = await startPulse();
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport });
      await page.goto(`${server.base}/settings/tokens`);
      assert.match(page.url(), /\/login$/, 'signing in first');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/settings\/tokens$/);
      assert.ok(await fitsWidth(page), 'no sideways scrolling');
      await screenshot(page, `sitepulse-tokens-empty-${device}`);

      await page.getByRole('link', { name: 'Running checks' }).click();
      for (const scope of ['teams:read', 'sites:read', 'checks:read', 'checks:run']) {
        assert.ok(await page.locator(`input[value="${scope}"]`).isChecked(), scope);
      }
      assert.ok(!(await page.locator('input[value="sites:delete"]').isChecked()));
      await page.getByLabel('Name').fill('CI Pipeline');
      await page.getByRole('button', { name: 'Create token' }).click();
      const secret = await page.locator('#secret').inputValue();
      assert.match(secret, /^spat_[0-9A-Za-z]{49}$/);
      assert.ok(await fitsWidth(page));
      await page.screenshot({ path: join(root, 'e2e', 'artifacts', `sitepulse-token-shown-${device}.png`), fullPage: true, mask: [page.locator('#secret')] });
      assert.equal(await api(server.base, secret), 200, 'the token works');

      await page.getByRole('link', { name: 'Done' }).click();
      const list = await page.locator('table.tokens').textContent();
      assert.ok(list.includes('CI Pipeline') && list.includes(secret.slice(-4)));
      assert.ok(!(await page.content()).includes(secret), 'never shown again');
      await screenshot(page, `sitepulse-tokens-list-${device}`);

      await page.getByRole('link', { name: 'Revoke' }).click();
      await screenshot(page, `sitepulse-token-revoke-${device}`);
      await page.getByRole('button', { name: 'Revoke' }).click();
      await page.waitForURL(/revoked=1/);
      assert.ok((await page.locator('[role=status]').textContent()).includes('revoked'));
      assert.equal(await api(server.base, secret), 401, 'revoked: refused');
      assert.ok(await fitsWidth(page));

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/login$/);
      assert.ok(!server.logs().includes(secret.slice(5)), 'no token in the log');
    } finally {
      await browser.close();
      await server.stop();
    }
  });
}

test('SitePulse MCP with a scoped token: the TypeScript SDK lists the allowed tools and calls them', async () => {
  const server = await startPulse();
  try {
    const created = server.admin('create-token', '--email', 'ada@example.com', '--name', 'agent',
      '--scope', 'teams:read', '--scope', 'sites:read', '--scope', 'sites:write');
    const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${created.plaintext_token}` } },
    });
    const client = new Client({ name: 'e2e-sitepulse', version: '1.0.0' });
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'sitepulse');
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['sites_create', 'sites_get', 'sites_list', 'sites_update', 'teams_get', 'teams_list']);
    const site = await client.callTool({ name: 'sites_create', arguments: { team: server.team.id, name: 'Docs', url: 'https://docs.example.com' } });
    assert.equal(site.isError, false);
    assert.equal(site.structuredContent.name, 'Docs');
    const refused = await client.callTool({ name: 'checks_run', arguments: { site: site.structuredContent.id } });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /^HTTP 403: The token lacks the `checks:run` scope/);
    await client.close();
  } finally {
    await server.stop();
  }
});

for (const [device, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
  test(`SitePulse MCP over OAuth on a ${device}: the SDK discovers, registers, the person consents, tools work, the app is disconnected`, async () => {
    const server = await startPulse();
    const browser = await launch();
    const callback = await callbackServer();
    try {
      const connect = (provider) => {
        const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), { authProvider: provider });
        return { transport, client: new Client({ name: 'e2e-pulse-agent', version: '1.0.0' }) };
      };
      const provider = new MemoryProvider(callback.url, 'Pulse agent');
      let { client, transport } = connect(provider);
      await assert.rejects(client.connect(transport), UnauthorizedError);
      assert.match(provider.client.client_id, /^oc_/);
      const url = provider.authorizationUrls.at(-1);
      assert.equal(url.searchParams.get('resource'), `${server.base}/mcp`);
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');

      const page = await browser.newPage({ viewport });
      await page.goto(url.href);
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Allow Pulse agent to access SitePulse?' }).waitFor();
      assert.ok(await fitsWidth(page), 'no sideways scrolling');
      await screenshot(page, `sitepulse-consent-${device}`);
      for (const box of await page.getByRole('checkbox').all()) {
        const scope = await box.getAttribute('value');
        if (!['teams:read', 'sites:read', 'sites:write'].includes(scope)) await box.uncheck();
      }
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { name: 'You can close this window' }).waitFor();
      const back = callback.received.at(-1);
      assert.equal(back.get('iss'), server.base);
      const code = back.get('code');
      await transport.finishAuth(code);
      assert.equal(provider.saved.scope, 'teams:read sites:read sites:write');

      ({ client, transport } = connect(provider));
      await client.connect(transport);
      const names = (await client.listTools()).tools.map((t) => t.name);
      for (const name of ['teams_list', 'sites_create', 'checks_run']) assert.ok(names.includes(name), name);
      const site = await client.callTool({ name: 'sites_create', arguments: { team: server.team.id, name: 'Shop', url: 'https://shop.example.com' } });
      assert.equal(site.isError, false, JSON.stringify(site));
      // Step-up: a tool beyond the granted scopes sends the person back to
      // consent for exactly one more scope; then the call runs.
      await assert.rejects(
        client.callTool({ name: 'checks_run', arguments: { site: site.structuredContent.id } }),
        UnauthorizedError,
      );
      const stepUp = provider.authorizationUrls.at(-1);
      assert.equal(stepUp.searchParams.get('scope'), 'teams:read sites:read sites:write checks:run');
      await page.goto(stepUp.href);
      await page.getByRole('heading', { name: 'Allow Pulse agent to access SitePulse?' }).waitFor();
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { name: 'You can close this window' }).waitFor();
      const stepUpCode = callback.received.at(-1).get('code');
      await transport.finishAuth(stepUpCode);
      assert.equal(provider.saved.scope, 'teams:read sites:read sites:write checks:run');
      const queued = await client.callTool({ name: 'checks_run', arguments: { site: site.structuredContent.id } });
      assert.equal(queued.isError, false, JSON.stringify(queued));
      assert.equal(queued.structuredContent.status, 'queued');
      await client.close();
      const access = provider.saved.access_token;
      assert.equal(await api(server.base, access), 401, 'a token for /mcp is refused at /api/v1');

      // Settings → MCP lists each approval (the first, and the step-up's
      // with checks:run); disconnecting them ends their tokens.
      await page.goto(`${server.base}/settings/mcp`);
      const rows = page.locator('table.tokens tbody tr');
      assert.equal(await rows.count(), 2);
      assert.ok((await rows.nth(0).textContent()).includes('checks:run'), 'newest first: the step-up');
      assert.ok(!(await rows.nth(1).textContent()).includes('checks:run'));
      assert.ok(await fitsWidth(page));
      await screenshot(page, `sitepulse-mcp-apps-${device}`);
      for (const left of [1, 0]) {
        await page.getByRole('button', { name: 'Disconnect Pulse agent' }).first().click();
        await page.waitForURL(/revoked=1/);
        assert.ok((await page.locator('[role=status]').textContent()).includes('disconnected'));
        assert.equal(await rows.count(), left);
      }
      ({ client, transport } = connect(provider));
      await assert.rejects(client.connect(transport), UnauthorizedError, 'the app must sign in again');

      for (const secret of [code, stepUpCode, access]) {
        assert.ok(!server.logs().includes(secret.slice(5, 40)), 'no secret in the log');
      }
    } finally {
      await callback.close();
      await browser.close();
      await server.stop();
    }
  });
}
