// An MCP client on the official TypeScript SDK's OAuth functions (discovery,
// registration, PKCE, code exchange, refresh) against the real server, with
// a person signing in from the authorize link and deciding in Chromium; then
// the person revokes the app on Connected apps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { screenshot, fitsWidth } from './browser.mjs';
import { PASSWORD, call, callbackServer, serverAndBrowser } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** Discovery and registration, as an MCP client does them. */
async function registeredClient(redirectUrl, name = 'E2E MCP client') {
  const metadata = await discoverAuthorizationServerMetadata(server.base);
  assert.ok(metadata, 'the server publishes its metadata');
  assert.equal(metadata.authorization_endpoint, `${metadata.issuer}/oauth/authorize`);
  const clientInformation = await registerClient(server.base, {
    metadata,
    clientMetadata: {
      client_name: name,
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  });
  assert.match(clientInformation.client_id, /^oc_/);
  return { metadata, clientInformation };
}

async function signInHere(page, email) {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('an MCP client gets tokens after a person signs in, narrows the scopes and approves; revoking ends them', async () => {
  const email = 'mcp@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified', '--account', 'Acme Support');
  const callback = await callbackServer();
  const { metadata, clientInformation } = await registeredClient(callback.url);
  const resource = `${metadata.issuer}/api/v2`;
  const { authorizationUrl, codeVerifier } = await startAuthorization(server.base, {
    metadata,
    clientInformation,
    redirectUrl: callback.url,
    scope: 'account:read chatbots:read knowledge:write',
    state: 'e2e-state',
    resource,
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(authorizationUrl.href);
  await signInHere(page, email);
  await page.getByRole('heading', { name: 'Allow E2E MCP client to access SiteGPT?' }).waitFor();
  await page.getByText('This application registered itself.').waitFor();
  assert.ok(await fitsWidth(page));
  await screenshot(page, '40-oauth-consent');
  await page.getByRole('checkbox', { name: /knowledge:write/ }).uncheck();
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('heading', { name: 'You can close this window' }).waitFor();

  assert.equal(callback.received.length, 1);
  const back = callback.received[0];
  assert.equal(back.get('state'), 'e2e-state');
  assert.equal(back.get('iss'), metadata.issuer);
  const tokens = await exchangeAuthorization(server.base, {
    metadata,
    clientInformation,
    authorizationCode: back.get('code'),
    codeVerifier,
    redirectUri: callback.url,
    resource,
  });
  assert.equal(tokens.scope, 'account:read chatbots:read');
  assert.equal(tokens.expires_in, 3600);
  assert.match(tokens.refresh_token, /^sgpr_/);
  const me = await call(server, 'GET', '/api/v2/account', tokens.access_token);
  assert.equal(me.status, 200);
  assert.equal(me.body.data.user.email, email);
  assert.equal((await call(server, 'POST', '/api/v2/chatbots', tokens.access_token)).status, 403);

  const refreshed = await refreshAuthorization(server.base, {
    metadata,
    clientInformation,
    refreshToken: tokens.refresh_token,
    resource,
  });
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal((await call(server, 'GET', '/api/v2/account', refreshed.access_token)).status, 200);
  for (const secret of [tokens.access_token, tokens.refresh_token, refreshed.refresh_token, back.get('code')]) {
    assert.ok(!server.logs().includes(secret.slice(5, 40)), 'no secret is logged');
  }

  await page.goto(`${server.base}/dashboard/apps`);
  await page.getByRole('heading', { name: 'E2E MCP client' }).waitFor();
  await screenshot(page, '41-connected-apps');
  await page.getByRole('button', { name: 'Revoke E2E MCP client' }).click();
  await page.getByText('Access revoked.').waitFor();
  await screenshot(page, '42-connected-apps-revoked');
  for (const token of [tokens.access_token, refreshed.access_token]) {
    assert.equal((await call(server, 'GET', '/api/v2/account', token)).status, 401);
  }
  await assert.rejects(
    refreshAuthorization(server.base, { metadata, clientInformation, refreshToken: refreshed.refresh_token, resource }),
  );
  await context.close();
  await callback.close();
});

test('denying sends access_denied back to the client', async () => {
  const email = 'deny-app@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified');
  const callback = await callbackServer();
  const { metadata, clientInformation } = await registeredClient(callback.url, 'Denied client');
  const { authorizationUrl } = await startAuthorization(server.base, {
    metadata,
    clientInformation,
    redirectUrl: callback.url,
    scope: 'account:read',
    state: 'deny-state',
    resource: `${metadata.issuer}/mcp`,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(authorizationUrl.href);
  await signInHere(page, email);
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.getByRole('heading', { name: 'You can close this window' }).waitFor();
  const back = callback.received[0];
  assert.equal(back.get('error'), 'access_denied');
  assert.equal(back.get('state'), 'deny-state');
  assert.equal(back.get('iss'), metadata.issuer);
  assert.equal(back.get('code'), null);
  await context.close();
  await callback.close();
});

test('the consent page and Connected apps fit a phone', async () => {
  const email = 'phone-app@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified');
  const callback = await callbackServer();
  const { metadata, clientInformation } = await registeredClient(callback.url, 'Phone agent');
  const resource = `${metadata.issuer}/mcp`;
  const { authorizationUrl, codeVerifier } = await startAuthorization(server.base, {
    metadata,
    clientInformation,
    redirectUrl: callback.url,
    scope: 'account:read chatbots:read chatbots:write knowledge:read knowledge:write conversations:read',
    resource,
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  const page = await context.newPage();
  await page.goto(authorizationUrl.href);
  await signInHere(page, email);
  await page.getByRole('heading', { name: 'Allow Phone agent to access SiteGPT?' }).waitFor();
  assert.ok(await fitsWidth(page), 'the consent page does not scroll sideways');
  await screenshot(page, '43-oauth-consent-phone');
  const approve = page.getByRole('button', { name: 'Approve' });
  await approve.scrollIntoViewIfNeeded();
  assert.ok(await approve.isVisible());
  await approve.click();
  await page.getByRole('heading', { name: 'You can close this window' }).waitFor();
  const authorizationCode = callback.received[0].get('code');
  await exchangeAuthorization(server.base, {
    metadata, clientInformation, authorizationCode, codeVerifier, redirectUri: callback.url, resource,
  });
  await page.goto(`${server.base}/dashboard/apps`);
  await page.getByRole('heading', { name: 'Phone agent' }).waitFor();
  assert.ok(await fitsWidth(page), 'Connected apps does not scroll sideways');
  await screenshot(page, '44-connected-apps-phone');
  await context.close();
  await callback.close();
});
