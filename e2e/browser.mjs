// Debian's Chromium, headless, driven by playwright-core; screenshots go to
// e2e/artifacts/ for people to look at.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const artifacts = resolve(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
}

/** A full-page screenshot; shown secrets (`input.secret-value`) are masked. */
export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true, mask: [page.locator('input.secret-value')] });
}

/** Fails when the page scrolls sideways (unreadable on a phone). */
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** Fails when a table is wider than its frame (a column cut off or hidden behind a scroll). */
export async function tablesFit(page) {
  return page.locator('.table-wrap').evaluateAll((wraps) =>
    wraps.filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => w.textContent.slice(0, 60)));
}
