// An MCP client on the official TypeScript SDK (`Client`, the Streamable
// HTTP transport and an OAuth provider) connects to the real server from
// nothing: 401, discovery, registration, a person's consent in Chromium,
// tokens, tools; then steps up when a tool needs a scope it lacks. And the
// token fallback: a dashboard token restricted to one chatbot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import * as modern from '@modelcontextprotocol/client';
import { fitsWidth, screenshot } from './browser.mjs';
import { MemoryProvider, PASSWORD, callbackServer, serverAndBrowser, signIn } from './flows.mjs';

let server;
let browser;

serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** The person opens the authorization URL and approves what it asks; the query the client gets back. */
async function approveInBrowser(page, url, callback, { signIn, keepOnly, shot } = {}) {
  const before = callback.received.length;
  await page.goto(url.href);
  if (signIn) {
    await page.getByLabel('Email').fill(signIn);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('heading', { name: 'Allow E2E agent to access SiteGPT?' }).waitFor();
  if (shot) await screenshot(page, shot);
  if (keepOnly) {
    for (const box of await page.getByRole('checkbox').all()) {
      const label = (await box.getAttribute('value')) ?? '';
      if (label.includes(':') && !keepOnly.includes(label)) await box.uncheck();
    }
  }
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('heading', { name: 'You can close this window' }).waitFor();
  assert.equal(callback.received.length, before + 1);
  return callback.received.at(-1);
}

/** The SDK 1.x client (handshake), and the 2.x client pinned to protocol 2026-07-28 (discovery). */
const SDKS = {
  v1: {
    Client,
    Transport: StreamableHTTPClientTransport,
    Unauthorized: UnauthorizedError,
    options: {},
    finish: (transport, back) => transport.finishAuth(back.get('code')),
    negotiated: (client, transport) => transport.protocolVersion,
    version: '2025-11-25',
  },
  v2: {
    Client: modern.Client,
    Transport: modern.StreamableHTTPClientTransport,
    Unauthorized: modern.UnauthorizedError,
    options: { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    // This version checks `iss` (RFC 9207) before it redeems the code.
    finish: (transport, back) => transport.finishAuth(back),
    negotiated: (client) => client.getNegotiatedProtocolVersion(),
    version: '2026-07-28',
  },
};

async function oauthAndStepUp(sdk, email, shots) {
  const { Client, Transport, Unauthorized, options, finish } = sdk;
  const newClient = (provider) => ({
    transport: new Transport(new URL(`${server.base}/mcp`), { authProvider: provider }),
    client: new Client({ name: 'e2e-agent', version: '1.0.0' }, options),
  });
  const UnauthorizedError = Unauthorized;
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified', '--account', 'Agent team');
  const callback = await callbackServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // From nothing: the endpoint answers 401, the SDK discovers, registers and
  // sends the person to consent.
  const provider = new MemoryProvider(callback.url);
  let { client, transport } = newClient(provider);
  await assert.rejects(client.connect(transport), UnauthorizedError);
  assert.match(provider.client.client_id, /^oc_/);
  const first = provider.authorizationUrls.at(-1);
  assert.equal(first.searchParams.get('resource'), `${server.base}/mcp`);
  assert.equal(first.searchParams.get('code_challenge_method'), 'S256');
  const back = await approveInBrowser(page, first, callback, { signIn: email, shot: shots[0] });
  assert.equal(back.get('iss'), server.base);
  const code = back.get('code');
  await finish(transport, back);
  ({ client, transport } = newClient(provider));
  await client.connect(transport);
  assert.equal(sdk.negotiated(client, transport), sdk.version);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const name of ['account_get', 'chatbots_list', 'chatbots_create', 'knowledge_list', 'knowledge_create']) {
    assert.ok(names.includes(name), `${name} is offered`);
  }
  assert.ok(!names.includes('tokens_create') && !names.includes('tokens_rotate'), 'no tool hands out secrets');
  assert.equal(tools.find((t) => t.name === 'chatbots_list').annotations.readOnlyHint, true);
  assert.equal(tools.find((t) => t.name === 'chatbots_delete').annotations.destructiveHint, true);

  const created = await client.callTool({ name: 'chatbots_create', arguments: { name: 'Docs bot' } });
  assert.equal(created.isError, false, JSON.stringify(created));
  const chatbotId = created.structuredContent.chatbot.id;
  const listed = await client.callTool({ name: 'chatbots_list', arguments: {} });
  assert.deepEqual(listed.structuredContent.items.map((c) => c.id), [chatbotId]);
  const knowledge = await client.callTool({
    name: 'knowledge_create',
    arguments: { chatbotId, type: 'url', url: 'https://example.com/pricing' },
  });
  assert.equal(knowledge.isError, false, JSON.stringify(knowledge));
  assert.equal(knowledge.structuredContent.knowledgeSource.url, 'https://example.com/pricing');
  const missing = await client.callTool({ name: 'chatbots_get', arguments: { chatbotId: 'cb_not_here' } });
  assert.equal(missing.isError, true);
  assert.match(missing.content[0].text, /^NOT_FOUND: /);
  await client.close();

  // Step-up: a client granted only chatbots:read asks for chatbots:write
  // when a write needs it, and succeeds once the person approves.
  const narrow = new MemoryProvider(callback.url);
  ({ client, transport } = newClient(narrow));
  await assert.rejects(client.connect(transport), UnauthorizedError);
  const narrowBack = await approveInBrowser(page, narrow.authorizationUrls.at(-1), callback, { keepOnly: ['chatbots:read'] });
  const narrowCode = narrowBack.get('code');
  await finish(transport, narrowBack);
  ({ client, transport } = newClient(narrow));
  await client.connect(transport);
  assert.equal(narrow.saved.scope, 'chatbots:read');
  const read = await client.callTool({ name: 'chatbots_list', arguments: {} });
  assert.equal(read.isError, false);
  await assert.rejects(client.callTool({ name: 'chatbots_create', arguments: { name: 'Sales bot' } }), UnauthorizedError);
  const stepUp = narrow.authorizationUrls.at(-1);
  assert.equal(stepUp.searchParams.get('scope'), 'chatbots:read chatbots:write');
  const stepUpBack = await approveInBrowser(page, stepUp, callback, { shot: shots[1] });
  const stepUpCode = stepUpBack.get('code');
  await finish(transport, stepUpBack);
  assert.equal(narrow.saved.scope, 'chatbots:read chatbots:write');
  const written = await client.callTool({ name: 'chatbots_create', arguments: { name: 'Sales bot' } });
  assert.equal(written.isError, false, JSON.stringify(written));
  await client.close();

  for (const secret of [code, narrowCode, stepUpCode, narrow.saved.access_token]) {
    assert.ok(!server.logs().includes(secret.slice(5, 40)), 'no secret is logged');
  }
  assert.match(server.logs(), /"tool":"chatbots_create"/);
  await context.close();
  await callback.close();
}

test('an SDK client connects through OAuth, lists and calls tools, and steps up for a write', async () => {
  await oauthAndStepUp(SDKS.v1, 'mcp-agent@example.com', ['45-mcp-consent', '46-mcp-step-up']);
});

test('the 2.x SDK client on protocol 2026-07-28 does the same', async () => {
  await oauthAndStepUp(SDKS.v2, 'mcp-agent-2026@example.com', [null, null]);
});

test('the token fallback: a dashboard token restricted to one chatbot', async () => {
  const email = 'mcp-fallback@example.com';
  const { accountId } = server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified',
    '--account', 'Fallback team');
  const mine = server.admin('create-chatbot', '--account-id', accountId, '--name', 'Mine').chatbotId;
  const other = server.admin('create-chatbot', '--account-id', accountId, '--name', 'Other').chatbotId;
  const token = server.admin('create-token', '--email', email, '--name', 'Support agent', '--scope', 'chatbots:read',
    '--chatbot', mine).plaintextToken;
  const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'e2e-fallback', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['chatbots_get', 'chatbots_list'], 'only what the token may do');
  const listed = await client.callTool({ name: 'chatbots_list', arguments: {} });
  assert.deepEqual(listed.structuredContent.items.map((c) => c.id), [mine]);
  const own = await client.callTool({ name: 'chatbots_get', arguments: { chatbotId: mine } });
  assert.equal(own.structuredContent.chatbot.name, 'Mine');
  const refused = await client.callTool({ name: 'chatbots_get', arguments: { chatbotId: other } });
  assert.equal(refused.isError, true);
  assert.match(refused.content[0].text, /^NOT_FOUND: /);
  await client.close();
});

test('the Connect an AI client page fits a desktop and a phone, with every snippet copyable', async () => {
  const email = 'mcp-page@example.com';
  server.admin('create-user', '--email', email, '--password', PASSWORD, '--verified');
  for (const [width, height, name] of [[1280, 900, '47-mcp-connect'], [390, 844, '48-mcp-connect-phone']]) {
    const context = await browser.newContext({ viewport: { width, height }, permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await signIn(server, page, email);
    await page.getByRole('link', { name: 'AI clients' }).click();
    await page.getByRole('heading', { name: 'Connect an AI client' }).waitFor();
    assert.equal(await page.getByLabel('MCP server URL').inputValue(), `${server.base}/mcp`);
    assert.match(await page.getByLabel('Run in a terminal').inputValue(), /^claude mcp add --transport http sitegpt /);
    assert.ok(await fitsWidth(page), `no sideways scrolling at ${width}px`);
    const copies = page.getByRole('button', { name: 'Copy' });
    assert.equal(await copies.count(), 6);
    const last = copies.last();
    await last.scrollIntoViewIfNeeded();
    assert.ok(await last.isVisible());
    await copies.first().click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.base}/mcp`);
    await screenshot(page, name);
    await context.close();
  }
});
