// The dashboard around the tokens, in a real browser: the Chatbots page, a
// token's own page, and every wide table as stacked cards on a phone with
// each action in view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, screenshot, fitsWidth, tablesFit } from './browser.mjs';
import { api, call, serverAndBrowser, signUpAndVerify } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const PHONE = { width: 390, height: 844 };
const WIDE = { width: 1280, height: 900 };

/** Fails unless every row action link or button is on screen horizontally. */
async function actionsInView(page, selector) {
  const width = page.viewportSize().width;
  const boxes = await page.locator(selector).evaluateAll((nodes) =>
    nodes.map((n) => { const r = n.getBoundingClientRect(); return [n.textContent.trim(), r.left, r.right, r.width]; }));
  assert.ok(boxes.length > 0, `no ${selector} on the page`);
  for (const [text, left, right, w] of boxes) {
    assert.ok(w > 0 && left >= 0 && right <= width, `"${text}" is off-screen (${left}–${right} of ${width})`);
  }
}

/** No table on the page scrolls sideways inside its frame. */
async function noColumnCut(page) {
  assert.deepEqual(await tablesFit(page), [], 'a table is wider than its frame');
}

test('chatbots are made, renamed, linked to their tokens and deleted after a confirmation', async () => {
  const page = await (await browser.newContext({ viewport: WIDE })).newPage();
  const email = 'bots@example.com';
  await signUpAndVerify(server, page, email, { team: 'Bot Works' });

  const nav = page.getByRole('navigation', { name: 'Dashboard' });
  await nav.getByRole('link', { name: 'Chatbots' }).click();
  await page.getByRole('heading', { name: 'Chatbots' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Chatbots' }).getAttribute('aria-current'), 'page');
  assert.equal(await nav.getByRole('link', { name: 'Agents' }).getAttribute('aria-current'), null);
  await page.getByText('No chatbots yet.').waitFor();

  for (const name of ['Support bot', 'Sales bot']) {
    await page.getByLabel('New chatbot').fill(name);
    await page.getByRole('button', { name: 'Create chatbot' }).click();
    await page.getByText('Chatbot created.').waitFor();
  }
  // An empty name gets the API's message and makes nothing.
  await page.getByLabel('New chatbot').fill('   ');
  await page.getByRole('button', { name: 'Create chatbot' }).click();
  await page.getByText('Name must not be empty.').waitFor();
  assert.equal(await page.locator('table.bots tbody tr').count(), 2);

  // Rename through the row's disclosure.
  const sales = page.locator('table.bots tbody tr', { hasText: 'Sales bot' });
  await sales.getByText('Rename').click();
  await sales.getByLabel('New name for Sales bot').fill('Sales assistant');
  await sales.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Chatbot renamed.').waitFor();
  await page.locator('table.bots tbody tr', { hasText: 'Sales assistant' }).waitFor();

  // Ids are there to copy, and they are the API's.
  const support = page.locator('table.bots tbody tr', { hasText: 'Support bot' });
  const supportId = await support.getByLabel('ID of Support bot').inputValue();
  const probe = server.admin('create-token', '--email', email, '--name', 'probe', '--scope', 'chatbots:read',
    '--scope', 'knowledge:write');
  const listed = await api(server, 'GET', '/api/v2/chatbots', probe.plaintextToken);
  assert.ok(listed.items.some((b) => b.id === supportId && b.name === 'Support bot'));

  // A token limited to Support bot is linked from its row.
  server.admin('create-token', '--email', email, '--name', 'Docs agent', '--scope', 'knowledge:read',
    '--chatbot', supportId);
  const created = await fetch(`${server.base}/api/v2/chatbots/${supportId}/knowledge`, {
    method: 'POST',
    headers: { authorization: `Bearer ${probe.plaintextToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'text', content: 'Opening hours: 9 to 5' }),
  });
  assert.equal(created.status, 201);
  await page.reload();
  await noColumnCut(page);
  await screenshot(page, '50-chatbots');
  await support.getByRole('link', { name: /1 token/ }).click();
  await page.getByText('Showing the tokens limited to').waitFor();
  assert.equal(await page.locator('table.tokens tbody tr').count(), 1);
  assert.match(await page.locator('table.tokens tbody tr').innerText(), /Docs agent/);

  // Delete: the confirmation says what goes with it.
  await nav.getByRole('link', { name: 'Chatbots' }).click();
  await support.getByRole('link', { name: 'Delete Support bot' }).click();
  await page.getByRole('heading', { name: 'Delete Support bot?' }).waitFor();
  const confirmation = await page.locator('main').innerText();
  assert.match(confirmation, /1 knowledge sources/);
  assert.match(confirmation, /1 token limited to this chatbot/);
  await screenshot(page, '51-chatbot-delete');
  await page.getByRole('button', { name: 'Delete chatbot' }).click();
  await page.getByText('Chatbot deleted, with everything in it.').waitFor();
  assert.equal(await page.locator('table.bots tbody tr').count(), 1);
  assert.equal((await call(server, 'GET', `/api/v2/chatbots/${supportId}`, probe.plaintextToken)).status, 404);

  await page.setViewportSize(PHONE);
  await page.reload();
  assert.ok(await fitsWidth(page), 'the Chatbots page does not scroll sideways on a phone');
  await actionsInView(page, 'table.bots td.row-actions summary, table.bots td.row-actions a');
  await screenshot(page, '52-chatbots-phone');
});

test("a token's own page lists every scope, names its chatbots and rotates or revokes it", async () => {
  const page = await (await browser.newContext({ viewport: WIDE })).newPage();
  const email = 'detail@example.com';
  await signUpAndVerify(server, page, email, { team: 'Detail Team' });
  const probe = server.admin('create-token', '--email', email, '--name', 'probe', '--scope', 'account:read');
  const me = await api(server, 'GET', '/api/v2/account', probe.plaintextToken);
  const bot = server.admin('create-chatbot', '--account-id', me.account.id, '--name', 'Help desk');
  const token = server.admin('create-token', '--email', email, '--name', 'Conversation cleaner', '--scope',
    'conversations:read', '--scope', 'conversations:delete', '--scope', 'knowledge:read', '--chatbot', bot.chatbotId,
    '--expires-in-days', '7');
  // A second member's token, so "All account tokens" has an Owner column.
  server.admin('create-user', '--email', 'a-rather-long-address-for-a-colleague@example.com', '--password',
    'correct horse battery', '--verified', '--account-id', me.account.id, '--role', 'member');
  server.admin('create-token', '--email', 'a-rather-long-address-for-a-colleague@example.com', '--name',
    'Colleague nightly export of conversations', '--scope', 'conversations:read');

  await page.goto(`${server.base}/dashboard/agents?owner=all`);
  await noColumnCut(page);
  await screenshot(page, '53-agents-all');
  await page.getByRole('link', { name: 'Conversation cleaner', exact: true }).click();
  await page.getByRole('heading', { name: 'Conversation cleaner' }).waitFor();
  const text = await page.locator('main').innerText();
  assert.equal(await page.getByLabel('Token ID').inputValue(), token.id);
  assert.match(text, /Custom · 3 scopes/);
  for (const scope of ['conversations:read', 'conversations:delete', 'knowledge:read']) {
    assert.ok(text.includes(scope), `${scope} is listed`);
  }
  assert.match(text, /Only Help desk/);
  assert.match(text, /An administrator's command/);
  assert.match(text, /in 7 days/, 'a 7-day token has 7 days left, not 6');
  assert.match(text, /Never/);
  await screenshot(page, '54-token-detail');
  await page.setViewportSize(PHONE);
  assert.ok(await fitsWidth(page), 'the token page fits a phone');
  await screenshot(page, '55-token-detail-phone');
  await page.setViewportSize(WIDE);

  await page.getByRole('link', { name: 'Revoke', exact: true }).click();
  await page.getByRole('button', { name: 'Revoke token' }).click();
  await page.getByText('Token revoked.').waitFor();
  assert.equal((await call(server, 'GET', '/api/v2/account', token.plaintextToken)).status, 401);
  // Revoking it again says so instead of pretending.
  await page.goto(`${server.base}/dashboard/agents/${token.id}/revoke`);
  await page.getByRole('heading', { name: 'Already revoked' }).waitFor();
  await page.goto(`${server.base}/dashboard/agents/${token.id}`);
  assert.match(await page.locator('main').innerText(), /Revoked/);
  assert.equal(await page.getByRole('link', { name: 'Revoke', exact: true }).count(), 0);
});

test('on a phone the Agents and Members tables are cards with every action in view', async () => {
  const page = await (await browser.newContext({ viewport: PHONE })).newPage();
  const email = 'phone@example.com';
  await signUpAndVerify(server, page, email, { team: 'Phone Team' });
  const probe = server.admin('create-token', '--email', email, '--name', 'Laptop', '--scope', 'account:read');
  const me = await api(server, 'GET', '/api/v2/account', probe.plaintextToken);
  server.admin('create-user', '--email', 'colleague@example.com', '--password', 'correct horse battery',
    '--verified', '--account-id', me.account.id, '--role', 'member');

  await page.goto(`${server.base}/dashboard/agents`);
  assert.ok(await fitsWidth(page));
  await actionsInView(page, 'table.tokens td.row-actions a');
  await screenshot(page, '56-agents-phone-cards');

  await page.goto(`${server.base}/dashboard/members`);
  assert.ok(await fitsWidth(page));
  await actionsInView(page, 'table.people td.row-actions a, table.people form.role-change button');
  // The sole owner is told why they cannot leave, before any confirmation.
  await page.getByText('You are the only owner').waitFor();
  await screenshot(page, '57-members-phone-cards');
});

test('a forgotten password is reset by e-mail, and settings change the team name and the password', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  const page = await context.newPage();
  const email = 'forgetful@example.com';
  await signUpAndVerify(server, page, email, { team: 'Forgetful Team' });

  // Settings: rename the team, then look at the page on both widths.
  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
  await page.getByLabel('Team name').fill('Remembering Team');
  await page.getByRole('button', { name: 'Rename team' }).click();
  await page.getByText('Team renamed.').waitFor();
  assert.equal(await page.getByLabel('Team name').inputValue(), 'Remembering Team');
  await screenshot(page, '58-settings');
  await page.setViewportSize(PHONE);
  assert.ok(await fitsWidth(page), 'the settings page fits a phone');
  await screenshot(page, '59-settings-phone');
  await page.setViewportSize(WIDE);

  // Signed out, the person forgets the password and asks for a link.
  const stranger = await (await browser.newContext({ viewport: PHONE })).newPage();
  await stranger.goto(`${server.base}/login`);
  await stranger.getByRole('link', { name: 'Forgot password?' }).click();
  await stranger.getByLabel('Email').fill(email);
  await stranger.getByRole('button', { name: 'Send the link' }).click();
  await stranger.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  assert.ok(await fitsWidth(stranger));
  await screenshot(stranger, '60-reset-requested-phone');
  await stranger.goto(await server.mailLink(email, '/reset-password?token='));
  await stranger.getByLabel('New password').fill('a much better passphrase');
  await screenshot(stranger, '61-reset-choose-phone');
  await stranger.getByRole('button', { name: 'Save the new password' }).click();
  await stranger.getByRole('heading', { name: 'Password changed' }).waitFor();

  // The old session is gone; the new password signs in.
  await page.goto(`${server.base}/dashboard/settings`);
  await page.waitForURL((url) => url.pathname === '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a much better passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/dashboard'));
  assert.ok(!server.logs().includes('a much better passphrase'), 'the password is not in the log');
  const token = (await server.mailLink(email, '/reset-password?token=')).split('token=')[1];
  assert.ok(!server.logs().includes(token), 'the reset link is not in the log');
});

test('an invitation mail leads to a sign-up with the address filled in, and verifying joins that team only', async () => {
  const host = await (await browser.newContext({ viewport: WIDE })).newPage();
  await signUpAndVerify(server, host, 'host@example.com', { team: 'Inviting Team' });
  await host.goto(`${server.base}/dashboard/members`);
  await host.getByLabel('Email').fill('new.hire@example.com');
  await host.getByRole('button', { name: 'Invite member' }).click();
  await host.getByText('Invitation sent.').waitFor();

  const guest = await (await browser.newContext({ viewport: PHONE })).newPage();
  await guest.goto(await server.mailLink('new.hire@example.com', '/signup?invitation='));
  await guest.getByText('You are invited to join Inviting Team as member.').waitFor();
  assert.equal(await guest.getByLabel('Email').inputValue(), 'new.hire@example.com');
  assert.equal(await guest.getByLabel('Team name').count(), 0, 'no team of their own');
  assert.ok(await fitsWidth(guest));
  await screenshot(guest, '62-invited-signup-phone');
  await guest.getByLabel('Password').fill('correct horse battery');
  await guest.getByRole('button', { name: 'Create account' }).click();
  await guest.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  await guest.goto(await server.verificationLink('new.hire@example.com'));
  await guest.getByRole('link', { name: 'Sign in' }).click();
  await guest.getByLabel('Email').fill('new.hire@example.com');
  await guest.getByLabel('Password').fill('correct horse battery');
  await guest.getByRole('button', { name: 'Sign in' }).click();
  await guest.waitForURL((url) => url.pathname.startsWith('/dashboard'));
  await guest.getByText('Inviting Team').first().waitFor();
  await guest.goto(`${server.base}/dashboard/members`);
  assert.match(await guest.locator('main').innerText(), /Your role is member/);
  assert.equal(await guest.getByRole('navigation', { name: 'Team' }).count(), 0, 'one team: no team switcher');
  await screenshot(guest, '63-invited-member-phone');
});

test('the API reference lists every operation with its scope and an example, on a wide screen and a phone', async () => {
  const page = await (await browser.newContext({ viewport: WIDE })).newPage();
  await page.goto(`${server.base}/docs`);
  await page.getByRole('heading', { name: 'API reference' }).waitFor();
  const spec = await (await fetch(`${server.base}/api/v2/openapi.json`)).json();
  const ids = Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => op.operationId))
    .filter((id) => /^[a-z][A-Za-z]+$/.test(id));
  assert.ok(ids.length > 50);
  for (const id of ids) assert.equal(await page.locator(`article#${id}`).count(), 1, id);
  // The contents lead to each resource; an operation shows its scope and a runnable example.
  await page.getByRole('navigation', { name: 'Resources' }).getByRole('link', { name: /^Knowledge/ }).click();
  const create = page.locator('article#createKnowledge');
  assert.match(await create.innerText(), /knowledge:write/);
  assert.match(await create.innerText(), /curl -X POST/);
  await create.getByText('Errors it can give').click();
  assert.match(await create.innerText(), /VALIDATION_FAILED/);
  await page.evaluate(() => window.scrollTo(0, 0));
  // The page is long: the visible part is what is worth looking at.
  await page.screenshot({ path: join(artifacts, '64-docs.png') });
  await page.setViewportSize(PHONE);
  assert.ok(await fitsWidth(page), 'the reference fits a phone (examples scroll in their own box)');
  await page.locator('article#createKnowledge').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, '65-docs-phone.png') });
});

test('the Security log shows who did what and from where, filters it, and fits a phone', async () => {
  const page = await (await browser.newContext({ viewport: WIDE })).newPage();
  const email = 'security@example.com';
  await signUpAndVerify(server, page, email, { team: 'Security Team' });
  const probe = server.admin('create-token', '--email', email, '--name', 'probe', '--scope', 'account:read');
  const me = await api(server, 'GET', '/api/v2/account', probe.plaintextToken);
  server.admin('create-user', '--email', 'a-long-address-for-the-security-colleague@example.com', '--password',
    'correct horse battery', '--verified', '--account-id', me.account.id, '--role', 'member');
  const nightly = server.admin('create-token', '--email', 'a-long-address-for-the-security-colleague@example.com',
    '--name', 'Colleague nightly export of conversations', '--scope', 'conversations:read');
  server.admin('set-role', '--email', 'a-long-address-for-the-security-colleague@example.com', '--account-id',
    me.account.id, '--role', 'admin');

  await page.goto(`${server.base}/dashboard/agents/${nightly.id}/revoke`);
  await page.getByRole('button', { name: 'Revoke token' }).click();
  await page.getByText('Token revoked.').waitFor();

  await page.goto(`${server.base}/dashboard/security`);
  await page.getByRole('heading', { name: 'Security log' }).waitFor();
  const text = await page.locator('main').innerText();
  for (const expected of ['Token revoked', 'Colleague nightly export of conversations', 'Role changed',
    'member → admin', 'Signed in', "An administrator's command", '127.0.0.1']) {
    assert.ok(text.includes(expected), `"${expected}" is on the Security log`);
  }
  await screenshot(page, '66-security-log');
  await noColumnCut(page);

  await page.getByLabel('What').selectOption('token.revoked');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/action=token\.revoked/);
  assert.equal(await page.locator('table.events tbody tr').count(), 1);
  await page.getByRole('link', { name: 'Colleague nightly export of conversations' }).click();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  assert.match(await page.locator('main').innerText(), /Token created[\s\S]*Token revoked|Token revoked[\s\S]*Token created/);

  await page.goto(`${server.base}/dashboard/security`);
  await page.setViewportSize(PHONE);
  assert.ok(await fitsWidth(page), 'the Security log fits a phone');
  await screenshot(page, '67-security-log-phone');
});
