// Steps several browser tests share: a server and a browser per file,
// signing up, signing in, calling the API.
import { before, after } from 'node:test';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { launch } from './browser.mjs';

export const PASSWORD = 'correct horse battery';

/**
 * Signs up with `email` (a new team), opens the verification link from the
 * outbox, and signs in from there.
 */
export async function signUpAndVerify(server, page, email, { team = 'Acme Support', shot = async () => {} } = {}) {
  await page.goto(`${server.base}/signup`);
  await shot('signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Team name').fill(team);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  await shot('check-inbox');
  await page.goto(await server.verificationLink(email));
  await page.getByRole('heading', { name: 'Your e-mail is verified' }).waitFor();
  await shot('verified');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/dashboard'));
}

/** Signs in as `email` (made with `admin create-user`). */
export async function signIn(server, page, email) {
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/dashboard'));
}

/** An API call with a bearer token: its status and parsed body. */
export async function call(server, method, path, token) {
  const response = await fetch(server.base + path, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** `data` of an API call, which must succeed. */
export async function api(server, method, path, token) {
  const { body } = await call(server, method, path, token);
  assert.equal(body.ok, true, JSON.stringify(body));
  return body.data;
}

/**
 * Starts a server and a browser before this file's tests, hands them to
 * `use`, and stops both after the last test.
 */
export function serverAndBrowser(use) {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launch();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

/** The client's redirect target: a loopback server that keeps each query it receives. */
export async function callbackServer() {
  const received = [];
  const http = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') received.push(url.searchParams);
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>Signed in</title><h1>You can close this window</h1>');
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${http.address().port}/callback`;
  return { url, received, close: () => new Promise((resolve) => http.close(resolve)) };
}

/**
 * An OAuthClientProvider kept in memory. It keeps no refresh token: when its
 * access token no longer serves, it asks the person again (which is also how
 * the SDK steps up to more scopes).
 */
export class MemoryProvider {
  constructor(redirectUrl, name = 'E2E agent') {
    this.redirect = redirectUrl;
    this.name = name;
    this.authorizationUrls = [];
  }
  get redirectUrl() { return this.redirect; }
  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(information) { this.client = information; }
  tokens() { return this.saved; }
  saveTokens(tokens) {
    const { refresh_token: _dropped, ...kept } = tokens;
    this.saved = kept;
  }
  redirectToAuthorization(url) { this.authorizationUrls.push(url); }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
}
