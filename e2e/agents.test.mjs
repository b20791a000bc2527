// The Agents page in a real browser: a person's tokens with their access,
// chatbots and expiry, revoked ones behind a toggle, on a wide screen and a
// phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, fitsWidth } from './browser.mjs';
import { api, serverAndBrowser, signUpAndVerify } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test('the Agents page lists tokens, flags expiry, and hides revoked ones until asked', async () => {
  const page = await (await browser.newContext()).newPage();
  const email = 'agents@example.com';
  await signUpAndVerify(server, page, email);

  // "Old laptop" can read the account and revoke itself, over the API.
  const old = server.admin('create-token', '--email', email, '--name', 'Old laptop', '--scope', 'account:read',
    '--scope', 'tokens:write');
  const me = await api(server, 'GET', '/api/v2/account', old.plaintextToken);
  const bot = server.admin('create-chatbot', '--account-id', me.account.id, '--name', 'Support bot');
  server.admin('create-token', '--email', email, '--name', 'Docs agent', '--scope', 'knowledge:read',
    '--scope', 'knowledge:write', '--chatbot', bot.chatbotId);
  server.admin('create-token', '--email', email, '--name', 'Nightly sync', '--scope', 'account:read',
    '--expires-in-days', '3');
  await api(server, 'POST', `/api/v2/tokens/${old.id}/revoke`, old.plaintextToken);

  await page.goto(`${server.base}/dashboard/agents`);
  await page.getByRole('heading', { name: 'Agents' }).waitFor();
  const rows = page.locator('table.tokens tbody tr');
  assert.equal(await rows.count(), 2, 'revoked tokens are hidden');
  const docs = rows.filter({ hasText: 'Docs agent' });
  assert.match(await docs.innerText(), /Custom · 2 scopes/);
  assert.match(await docs.innerText(), /Support bot/);
  const nightly = rows.filter({ hasText: 'Nightly sync' });
  assert.match(await nightly.locator('td.soon').innerText(), /in [23] days/);
  await screenshot(page, '20-agents');

  await page.getByRole('link', { name: 'Show revoked' }).click();
  await page.getByText('Old laptop').waitFor();
  assert.equal(await rows.count(), 3);
  assert.match(await rows.filter({ hasText: 'Old laptop' }).innerText(), /Revoked/);
  await screenshot(page, '21-agents-revoked');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.base}/dashboard/agents`);
  assert.ok(await fitsWidth(page), 'the page does not scroll sideways on a phone');
  await screenshot(page, '22-agents-phone');
});
