import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { tempCluster } from './helpers.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

describe('dashboard in headless Chromium against a real 3-node cluster', () => {
  it('shows 3 nodes and one leader, then a new leader after the leader is SIGKILLed', async () => {
    const { cluster, cleanup } = await tempCluster(3);
    const browser = await launchBrowser();
    // Stops the background writer (its retries would otherwise run on against a stopped cluster).
    const stopWriting = new AbortController();
    let writer: Promise<void> = Promise.resolve();
    try {
      await cluster.initialize();
      const c = cluster.client();
      const leader = await c.waitForLeader(30_000);
      // Some traffic for the write-rate chart.
      writer = (async () => {
        let i = 0;
        while (!stopWriting.signal.aborted)
          await c
            .write({ Set: { key: `d${i % 50}`, value: String(i++) } }, { signal: stopWriting.signal })
            .catch(() => {});
      })();
      const viewer = [1, 2, 3].find((id) => id !== leader.id) as number;
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`http://${cluster.addr(viewer)}/`);

      // Page-side expressions are strings: this file is type-checked without the DOM library.
      await page.waitForFunction("document.querySelectorAll('[data-node-id]').length === 3", null, {
        timeout: 15_000,
      });
      await page.waitForFunction(`document.getElementById('leader').textContent === '${leader.id}'`, null, {
        timeout: 15_000,
      });
      expect(await page.locator('[data-node-id]').count()).toBe(3);
      expect(await page.locator('[data-role="Leader"]').count()).toBe(1);
      expect(await page.locator(`[data-node-id="${leader.id}"]`).getAttribute('class')).toContain('leader');
      await page.waitForFunction(
        "document.querySelectorAll('#replication tr[data-target]').length === 2",
        null,
        {
          timeout: 15_000,
        },
      );
      // The write-rate chart picks up the background writes.
      await page.waitForFunction("Number(document.getElementById('rate').textContent) > 0", null, {
        timeout: 15_000,
      });
      await page.waitForTimeout(3000); // a few more chart points for the screenshot
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });

      await cluster.kill(leader.id, 'SIGKILL');
      await page.waitForFunction(
        `(() => { const l = document.getElementById('leader').textContent; return l !== 'none' && l !== '${leader.id}'; })()`,
        null,
        { timeout: 20_000 },
      );
      expect(await page.locator('[data-role="Leader"]').count()).toBe(1);
      expect(await page.locator(`[data-node-id="${leader.id}"]`).getAttribute('data-role')).toBe(
        'Unreachable',
      );
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-failover.png') });
    } finally {
      stopWriting.abort();
      await writer;
      await browser.close();
      await cleanup();
    }
  }, 90_000);

  it('tells voters from learners: a node added with /add-learner shows as a learner, then as a voter', async () => {
    const { cluster, cleanup } = await tempCluster(1);
    const browser = await launchBrowser();
    try {
      await cluster.initialize();
      const c = cluster.client();
      await c.waitForLeader(30_000);
      const addr2 = await cluster.addNodeId(2);
      await cluster.startNode(2);
      const added = await c.call(cluster.addr(1), '/add-learner', [2, addr2]);
      expect(added.body).toMatchObject({ Ok: {} });

      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`http://${cluster.addr(1)}/`);
      await page.waitForFunction(
        `document.querySelector('[data-node-id="2"]')?.getAttribute('data-member') === 'learner'`,
        null,
        { timeout: 15_000 },
      );
      expect(await page.locator('[data-node-id="1"]').getAttribute('data-member')).toBe('voter');
      expect(await page.locator('#voters').textContent()).toBe('1');
      expect(await page.locator('#learners').textContent()).toBe('2');
      await page.waitForFunction(
        `document.querySelector('#replication tr[data-target="2"]')?.getAttribute('data-member') === 'learner'`,
        null,
        { timeout: 15_000 },
      );
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-learner.png') });

      const changed = await c.call(cluster.addr(1), '/change-membership', [1, 2]);
      expect(changed.body).toMatchObject({ Ok: {} });
      await page.waitForFunction(
        `document.querySelector('[data-node-id="2"]')?.getAttribute('data-member') === 'voter'`,
        null,
        { timeout: 15_000 },
      );
      expect(await page.locator('#voters').textContent()).toBe('1, 2');
      expect(await page.locator('#learners').textContent()).toBe('-');
    } finally {
      await browser.close();
      await cleanup();
    }
  }, 90_000);
});
