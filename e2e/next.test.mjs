// Where a browser lands after signing in with a hostile `next`: always on
// this site. Browsers drop tabs and newlines from URLs and read `\` as `/`,
// so a target that merely starts with `/` could still leave the site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, serverAndBrowser } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const hostile = [
  '/\t/evil.example/x',
  '/%09/evil.example/x',
  '/%0d%0a/evil.example',
  '//evil.example',
  '/\\evil.example',
  '/%5C/evil.example',
  '/%252F%252Fevil.example',
  'https://evil.example',
];

test('hostile next targets land on this site, when signing in and when already signed in', async () => {
  const email = 'next@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified');
  const context = await browser.newContext();
  const page = await context.newPage();
  const base = new URL(server.base);
  // Requests that leave the site would fail on this closed network; record any.
  const offsite = [];
  page.on('request', (request) => {
    if (new URL(request.url()).host !== base.host) offsite.push(request.url());
  });
  for (const [i, next] of hostile.entries()) {
    const query = new URLSearchParams({ next }).toString();
    if (i === 0) {
      await page.goto(`${server.base}/login?${query}`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname.startsWith('/dashboard'));
    } else {
      // Already signed in: the sign-in page sends the browser on at once.
      await page.goto(`${server.base}/login?${query}`);
    }
    const landed = new URL(page.url());
    assert.equal(landed.host, base.host, `${JSON.stringify(next)} led to ${landed.href}`);
    assert.ok(landed.pathname.startsWith('/dashboard'), `${JSON.stringify(next)} led to ${landed.href}`);
  }
  assert.deepEqual(offsite, []);
  await context.close();
});
