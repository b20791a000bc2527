// The Members page in a real browser: an owner invites people, changes a
// role and removes someone; an admin cannot touch the owner; a viewer only
// looks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, fitsWidth } from './browser.mjs';
import { api, call, PASSWORD, serverAndBrowser, signIn, signUpAndVerify } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test('owners invite, change roles and remove; admins and viewers are held to their roles', async () => {
  const page = await browser.newPage();
  const ownerEmail = 'owner@example.com';
  await signUpAndVerify(server, page, ownerEmail, { team: 'Acme Support' });
  const probe = server.admin('create-token', '--email', ownerEmail, '--name', 'probe', '--scope', 'account:read');
  const accountId = (await api(server, 'GET', '/api/v2/account', probe.plaintextToken)).account.id;
  // Two people who already have accounts elsewhere.
  for (const email of ['ada@example.com', 'grace@example.com']) {
    server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified');
  }

  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Members' }).click();
  await page.getByRole('heading', { name: 'Members' }).waitFor();
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Role', { exact: true }).selectOption('admin');
  await page.getByRole('button', { name: 'Invite member' }).click();
  await page.getByText('Invitation sent.').waitFor();
  await page.getByLabel('Email').fill('grace@example.com');
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Invite member' }).click();
  await page.getByText('Invitation sent.').waitFor();
  await page.getByLabel('Email').fill('newcomer@example.com');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Invite member' }).click();
  await page.getByText('Invitation sent.').waitFor();
  // A mistake gets the API's message, and what was typed stays.
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Invite member' }).click();
  await page.getByText('ada@example.com is already invited.').waitFor();
  assert.equal(await page.getByLabel('Email').inputValue(), 'ada@example.com');
  await screenshot(page, '70-members');
  // The invitation waits in its own list until withdrawn.
  const pending = page.locator('tr', { hasText: 'newcomer@example.com' });
  assert.match(await pending.innerText(), /Viewer/);
  await page.getByRole('button', { name: 'Withdraw the invitation of newcomer@example.com' }).click();
  await page.getByText('Invitation withdrawn.').waitFor();
  assert.equal(await page.locator('tr', { hasText: 'newcomer@example.com' }).count(), 0);

  // Ada and Grace accept, from the start page's notice.
  const ada = await browser.newPage();
  const grace = await browser.newPage({ viewport: { width: 390, height: 844 } });
  for (const [person, email] of [[ada, 'ada@example.com'], [grace, 'grace@example.com']]) {
    await signIn(server, person, email);
    await person.goto(`${server.base}/`);
    await person.getByRole('link', { name: 'Review invitations' }).click();
    await person.getByRole('heading', { name: 'Acme Support' }).waitFor();
    if (person === grace) {
      assert.ok(await fitsWidth(grace), 'the invitations page fits a phone');
      await screenshot(grace, '75-invitations-phone');
    } else {
      await screenshot(ada, '75-invitations');
    }
    await person.getByRole('button', { name: 'Accept and join Acme Support' }).click();
    await person.getByText('You joined the team.').waitFor();
  }
  await page.goto(`${server.base}/dashboard/members`);

  // Grace becomes a viewer, from her row.
  await page.getByLabel('Role of grace@example.com').selectOption('viewer');
  await page.locator('tr', { hasText: 'grace@example.com' }).getByRole('button', { name: 'Change role' }).click();
  await page.getByText('Role changed.').waitFor();
  assert.equal(await page.getByLabel('Role of grace@example.com').inputValue(), 'viewer');

  // The only owner cannot step down.
  await page.getByLabel('Role of owner@example.com').selectOption('admin');
  await page.locator('tr', { hasText: 'owner@example.com' }).getByRole('button', { name: 'Change role' }).click();
  await page.getByText('An account must keep at least one owner.').waitFor();
  await screenshot(page, '71-members-last-owner');

  // Ada, an admin, sees the owner but cannot change or remove them.
  await ada.goto(`${server.base}/dashboard/members?account=${accountId}`);
  const ownerRow = ada.locator('tr', { hasText: 'owner@example.com' });
  assert.equal(await ownerRow.getByRole('combobox').count(), 0);
  assert.equal(await ownerRow.getByRole('link', { name: /Remove/ }).count(), 0);
  const roles = await ada.getByLabel('Role', { exact: true }).locator('option').allTextContents();
  assert.deepEqual(roles, ['Admin', 'Member', 'Viewer']);
  await screenshot(ada, '72-members-admin');

  // Grace, a viewer, only looks.
  const graceToken = server.admin('create-token', '--email', 'grace@example.com', '--account-id', accountId,
    '--name', 'grace laptop', '--scope', 'account:read');
  await grace.goto(`${server.base}/dashboard/members?account=${accountId}`);
  await grace.getByText('ada@example.com').waitFor();
  assert.equal(await grace.getByRole('button', { name: 'Invite member' }).count(), 0);
  assert.equal(await grace.getByRole('button', { name: 'Change role' }).count(), 0);

  // The owner removes Grace after confirming; her token stops working.
  assert.equal((await call(server, 'GET', '/api/v2/account', graceToken.plaintextToken)).status, 200);
  await page.goto(`${server.base}/dashboard/members`);
  await page.getByRole('link', { name: 'Remove grace@example.com' }).click();
  await page.getByRole('heading', { name: 'Remove this member?' }).waitFor();
  await screenshot(page, '73-members-remove');
  await page.getByRole('button', { name: 'Remove member' }).click();
  await page.getByText('Member removed').waitFor();
  assert.equal(await page.locator('tr', { hasText: 'grace@example.com' }).count(), 0);
  assert.equal((await call(server, 'GET', '/api/v2/account', graceToken.plaintextToken)).status, 401);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await screenshot(page, '74-members-phone');
  assert.ok(await fitsWidth(page), 'the page does not scroll sideways on a phone');
});
