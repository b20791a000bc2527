// A person signs up in a real browser, verifies the e-mail from the outbox,
// and approves (or denies) a device login that a CLI started over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, fitsWidth } from './browser.mjs';
import * as flows from './flows.mjs';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PASSWORD = 'correct horse battery';
let server;
let browser;

flows.serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const shots = { signup: '01-signup', 'check-inbox': '02-check-inbox', verified: '03-verified' };
const signUpAndVerify = (page, email) =>
  flows.signUpAndVerify(server, page, email, { shot: (name) => screenshot(page, shots[name]) });

async function startDevice(scope) {
  const params = { client_id: 'sitegpt-cli', token_name: 'e2e laptop' };
  if (scope) params.scope = scope;
  const { status, body } = await server.form('/oauth/device_authorization', params);
  assert.equal(status, 200);
  return body;
}

const poll = (deviceCode) =>
  server.form('/oauth/token', { grant_type: GRANT, client_id: 'sitegpt-cli', device_code: deviceCode });

test('sign up, verify, approve a device login, and the device gets a working token', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUpAndVerify(page, 'ada@example.com');

  const device = await startDevice('account:read chatbots:read knowledge:read knowledge:write');
  assert.equal((await poll(device.device_code)).body.error, 'authorization_pending');

  await page.goto(`${server.base}/device`);
  await screenshot(page, '04-device-entry');
  // Typed the way people type: lower case, no dash.
  await page.getByLabel('Code').fill(device.user_code.replace('-', '').toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Allow SiteGPT CLI to access SiteGPT?' }).waitFor();
  await page.getByText(device.user_code).waitFor();
  // One line first; the full list opens on request.
  await page.getByText(/^Custom access: \d+ scopes? on /).waitFor();
  assert.equal(await page.getByText('Create and change chatbot knowledge sources').isVisible(), false);
  await page.getByText(/^Every scope it asks for/).click();
  await page.getByText('Create and change chatbot knowledge sources').waitFor();
  await page.getByText('e2e laptop').waitFor();
  await screenshot(page, '05-device-review');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('heading', { name: 'Access approved' }).waitFor();
  await screenshot(page, '06-device-approved');

  const { status, body } = await poll(device.device_code);
  assert.equal(status, 200);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, 'account:read chatbots:read knowledge:read knowledge:write');
  const me = await fetch(`${server.base}/api/v2/account`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(me.status, 200);
  const account = await me.json();
  assert.equal(account.data.user.email, 'ada@example.com');
  assert.equal(account.data.account.name, 'Acme Support');
  assert.ok(!server.logs().includes(body.access_token.slice(5, 40)), 'the token is not logged');
  await context.close();
});

test('denying gives the device access_denied', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUpAndVerify(page, 'grace@example.com');
  const device = await startDevice();
  await page.goto(device.verification_uri_complete);
  await page.getByRole('heading', { name: 'Allow SiteGPT CLI to access SiteGPT?' }).waitFor();
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.getByRole('heading', { name: 'Access denied' }).waitFor();
  await screenshot(page, '07-device-denied');
  const { status, body } = await poll(device.device_code);
  assert.equal(status, 400);
  assert.equal(body.error, 'access_denied');
  await context.close();
});

test('signing in and approving work with the keyboard alone', async () => {
  const setup = await browser.newContext();
  await signUpAndVerify(await setup.newPage(), 'kb@example.com');
  await setup.close();

  const context = await browser.newContext();
  const page = await context.newPage();
  const device = await startDevice('account:read');
  await page.goto(device.verification_uri_complete);
  // Not signed in: the page sends us to sign in and back.
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await screenshot(page, '08-login');
  await page.keyboard.press('Tab'); // skip link
  await page.keyboard.press('Tab'); // brand
  let focused = '';
  for (let i = 0; i < 6 && focused !== 'email'; i += 1) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.getAttribute('name') ?? '');
  }
  assert.equal(focused, 'email', 'Tab reaches the Email field');
  await page.keyboard.type('kb@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Allow SiteGPT CLI to access SiteGPT?' }).waitFor();
  await page.getByRole('button', { name: 'Approve' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Access approved' }).waitFor();
  assert.equal((await poll(device.device_code)).status, 200);
  await context.close();
});

test('pages are readable on a phone', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true });
  const page = await context.newPage();
  await signUpAndVerify(page, 'phone@example.com');
  const device = await startDevice();
  await page.goto(device.verification_uri_complete);
  await page.getByRole('heading', { name: 'Allow SiteGPT CLI to access SiteGPT?' }).waitFor();
  assert.ok(await fitsWidth(page), 'the review page fits a phone screen');
  await screenshot(page, '09-device-review-phone');
  for (const path of ['/', '/docs', '/device']) {
    await page.goto(server.base + path);
    assert.ok(await fitsWidth(page), `${path} fits a phone screen`);
  }
  await context.close();
});

test('a wrong code shows a clear message and too many are refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUpAndVerify(page, 'typo@example.com');
  await page.goto(`${server.base}/device`);
  await page.getByLabel('Code').fill('BCDF-GHJK');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('That code is not valid').waitFor();
  await screenshot(page, '10-device-wrong-code');
  for (let i = 0; i < 4; i += 1) {
    await page.goto(`${server.base}/device?user_code=BCDF-GHJ${'KLMN'[i]}`);
  }
  const response = await page.goto(`${server.base}/device?user_code=BCDF-GHJP`);
  assert.equal(response.status(), 429);
  await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
  await screenshot(page, '11-device-rate-limited');
  await context.close();
});
