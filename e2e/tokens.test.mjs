// Creating, using, rotating and revoking a token on the Agents page, in a
// real browser: a Custom token restricted to one chatbot is copied from the
// page and used against the API; a viewer cannot grant beyond their role;
// everything also works with JavaScript turned off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, fitsWidth, tablesFit } from './browser.mjs';
import { api, call, PASSWORD, serverAndBrowser, signIn, signUpAndVerify } from './flows.mjs';

let server;
let browser;
let owner;
let bots;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** A verified owner with two chatbots; made once, for every test here. */
async function ownerWithChatbots(page) {
  if (owner) return owner;
  const email = 'owner@example.com';
  await signUpAndVerify(server, page, email);
  const probe = server.admin('create-token', '--email', email, '--name', 'probe', '--scope', 'account:read',
    '--scope', 'tokens:write');
  const me = await api(server, 'GET', '/api/v2/account', probe.plaintextToken);
  bots = {
    support: server.admin('create-chatbot', '--account-id', me.account.id, '--name', 'Support bot').chatbotId,
    sales: server.admin('create-chatbot', '--account-id', me.account.id, '--name', 'Sales bot').chatbotId,
  };
  await api(server, 'POST', `/api/v2/tokens/${probe.id}/revoke`, probe.plaintextToken);
  owner = { email, accountId: me.account.id };
  return owner;
}

test('a Custom token restricted to one chatbot: create, copy, use, rotate, revoke', async () => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await ownerWithChatbots(page);

  await page.goto(`${server.base}/dashboard/agents`);
  await page.getByRole('link', { name: 'Create token' }).click();
  await page.getByRole('heading', { name: 'Create token' }).waitFor();
  await page.getByLabel('Name').fill('Docs agent');
  await page.getByText('Custom', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'chatbots:read' }).check();
  await page.getByRole('checkbox', { name: 'knowledge:read' }).check();
  await page.getByRole('checkbox', { name: /Support bot/ }).check();
  assert.equal(page.viewportSize().width, 1280);
  assert.deepEqual(await tablesFit(page), [], 'the scope table shows every column at 1280 px');
  await screenshot(page, '30-create-token');
  await page.getByRole('button', { name: 'Create token' }).click();

  await page.getByRole('heading', { name: 'Token created' }).waitFor();
  await page.getByText('Copy this token now.').waitFor();
  await screenshot(page, '31-token-created');
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  const token = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(token, /^sgpt_/);
  assert.equal(token, await page.getByLabel('Token for Docs agent').inputValue());
  // The address is now the list's: a reload shows the list, not the secret.
  assert.equal(new URL(page.url()).pathname, '/dashboard/agents');
  await page.reload();
  await page.getByRole('heading', { name: 'Agents' }).waitFor();
  assert.ok(!(await page.content()).includes(token), 'the secret is not shown again');
  const row = page.locator('table.tokens tbody tr').filter({ hasText: 'Docs agent' });
  assert.match(await row.innerText(), /Custom · 2 scopes/);
  assert.match(await row.innerText(), /Support bot/);

  // Used against the API: its chatbot yes, the other chatbot hidden, a missing scope refused.
  assert.equal((await call(server, 'GET', `/api/v2/chatbots/${bots.support}`, token)).status, 200);
  const other = await call(server, 'GET', `/api/v2/chatbots/${bots.sales}`, token);
  assert.equal(other.status, 404);
  assert.equal(other.body.error.code, 'NOT_FOUND');
  const account = await call(server, 'GET', '/api/v2/account', token);
  assert.equal(account.status, 403);
  assert.equal(account.body.error.code, 'INSUFFICIENT_SCOPE');
  const details = await api(server, 'GET', `/api/v2/chatbots/${bots.support}`, token);
  assert.equal(details.chatbot.name, 'Support bot');

  // Rotate: confirm, then a new secret once; the old one stops working.
  await row.getByRole('link', { name: 'Rotate Docs agent' }).click();
  await page.getByRole('heading', { name: 'Rotate this token?' }).waitFor();
  await screenshot(page, '32-rotate-confirm');
  await page.getByRole('button', { name: 'Rotate token' }).click();
  await page.getByRole('heading', { name: 'Token rotated' }).waitFor();
  const rotated = await page.getByLabel('Token for Docs agent').inputValue();
  assert.notEqual(rotated, token);
  assert.equal((await call(server, 'GET', `/api/v2/chatbots/${bots.support}`, token)).status, 401);
  assert.equal((await call(server, 'GET', `/api/v2/chatbots/${bots.support}`, rotated)).status, 200);
  await page.getByRole('link', { name: 'Done, I copied it' }).click();

  // Revoke: confirm, then it stops working at once.
  await page.locator('table.tokens tbody tr').filter({ hasText: 'Docs agent' })
    .getByRole('link', { name: 'Revoke Docs agent' }).click();
  await page.getByRole('heading', { name: 'Revoke this token?' }).waitFor();
  await screenshot(page, '33-revoke-confirm');
  await page.getByRole('button', { name: 'Revoke token' }).click();
  await page.getByText('Token revoked.').waitFor();
  const revoked = await call(server, 'GET', `/api/v2/chatbots/${bots.support}`, rotated);
  assert.equal(revoked.status, 401);
  assert.equal(revoked.body.error.code, 'TOKEN_REVOKED');
  assert.equal(await page.locator('table.tokens tbody tr').filter({ hasText: 'Docs agent' }).count(), 0);
  await screenshot(page, '34-token-revoked');

  // Secrets never reach the server log.
  for (const secret of [token, rotated]) assert.ok(!server.logs().includes(secret), 'a secret is in the log');
  await context.close();
});

test('a viewer can tick only scopes within their role, and the server holds the line too', async () => {
  const page = await browser.newPage();
  await ownerWithChatbots(page);
  const email = 'viewer@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified', '--account-id', owner.accountId,
    '--role', 'viewer');
  await signIn(server, page, email);
  await page.goto(`${server.base}/dashboard/agents/new`);
  assert.ok(await page.getByRole('radio', { name: /^Standard/ }).isDisabled());
  assert.ok(await page.getByRole('radio', { name: /^Full/ }).isDisabled());
  assert.ok(await page.getByRole('radio', { name: /^Custom/ }).isChecked());
  assert.ok(await page.getByRole('checkbox', { name: 'knowledge:write' }).isDisabled());
  assert.ok(await page.getByRole('checkbox', { name: 'billing:read' }).isDisabled());
  assert.ok(await page.getByRole('checkbox', { name: 'knowledge:read' }).isEnabled());
  await page.getByRole('button', { name: 'Select all I may grant' }).click();
  assert.ok(await page.getByRole('checkbox', { name: 'tokens:write' }).isChecked());
  assert.ok(!(await page.getByRole('checkbox', { name: 'knowledge:write' }).isChecked()));
  await screenshot(page, '35-create-token-viewer');

  // A forged form (the disabled box enabled by hand) is refused with the API's message.
  await page.getByLabel('Name').fill('Too much');
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.evaluate(() => {
    const box = document.querySelector('input[value="knowledge:write"]');
    box.disabled = false;
    box.checked = true;
  });
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('You may not grant knowledge:write.').waitFor();
  assert.equal(await page.getByLabel('Name').inputValue(), 'Too much', 'what was typed is kept');
  await screenshot(page, '36-create-token-refused');
  await page.close();
});

test('without JavaScript: create shows the secret once, and a resent form does not show it again', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(server, page, (await ownerWithChatbots(await browser.newPage())).email);
  await page.goto(`${server.base}/dashboard/agents/new`);
  await page.getByLabel('Name').fill('CI pipeline');
  await page.getByRole('button', { name: 'Create token' }).click();
  assert.equal(await page.getByRole('button', { name: 'Copy' }).count(), 0, 'no copy button without a script');
  const token = await page.getByLabel('Token for CI pipeline').inputValue();
  const me = await api(server, 'GET', '/api/v2/account', token);
  assert.equal(me.token.name, 'CI pipeline');
  assert.deepEqual(me.token.scopes.includes('tokens:write'), false, 'Standard access leaves out tokens:write');
  // Reloading posts the form again: no second token, and no secret.
  await page.reload();
  await page.getByRole('heading', { name: 'This form was already sent' }).waitFor();
  assert.ok(!(await page.content()).includes(token));
  const { items } = await api(server, 'GET', '/api/v2/tokens', token);
  assert.equal(items.filter((t) => t.name === 'CI pipeline').length, 1, 'the reload made no second token');
  await page.goto(`${server.base}/dashboard/agents`);
  assert.equal(await page.locator('table.tokens tbody tr').filter({ hasText: 'CI pipeline' }).count(), 1);

  // A validation error keeps the form and names the field.
  await page.goto(`${server.base}/dashboard/agents/new`);
  await page.getByLabel('Days until the token expires').fill('400');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('Name must not be empty.').waitFor();
  await page.getByText(/1 and 365|1 to 365/).first().waitFor();
  await screenshot(page, '37-create-token-errors');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.base}/dashboard/agents/new`);
  assert.ok(await fitsWidth(page), 'the form does not scroll sideways on a phone');
  await screenshot(page, '38-create-token-phone');
  await context.close();
});
