// The dashboard of runit-ts serve in a real browser: Debian's chromium,
// driven by playwright-core (no browser download).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { bin, tempDir, makeService, startDetached, stopAll, running, run, readText, startServe } from './helpers.js';

after(stopAll);

const CHROMIUM = '/usr/bin/chromium';

test('the dashboard: every service, changes live, a refused action, a restart by button, a log line as it is written, a phone', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  // web writes a line whenever the test leaves a file `say` in its directory
  makeService(join(svdir, 'web'), {
    run: '#!/bin/sh\nexec 2>&1\necho started\nwhile :; do if [ -f say ]; then echo "said: $(cat say)"; rm -f say; fi; sleep 0.05; done\n',
    'log/run': '#!/bin/sh\nexec svlogd -tt ./main\n',
  });
  mkdirSync(join(svdir, 'web/log/main'));
  makeService(join(svdir, 'db'), { run: '#!/bin/sh\nexec sleep 1000\n' });
  startDetached(bin('runsvdir'), [svdir]);
  const web = await running(join(svdir, 'web'));
  await running(join(svdir, 'db'));
  const tokenFile = join(base, 'token');
  const { where } = await startServe(svdir, ['--control', '--token-file', tokenFile]);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    /** @type {string[]} */
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.goto(where);
    const state = (/** @type {string} */ name) => page.locator(`tr[data-service="${name}"] td[data-label="state"]`);
    const pid = (/** @type {string} */ name) => page.locator(`tr[data-service="${name}"] td[data-label="pid"]`);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live');
    await assert.doesNotReject(state('db').filter({ hasText: /^run$/ }).waitFor());
    assert.equal(await state('web').textContent(), 'run');
    assert.equal(await state('web/log').textContent(), 'run');
    assert.equal(await pid('web').textContent(), String(web));

    // from the shell, seen without a reload
    assert.equal(run(bin('sv'), ['down', join(svdir, 'db')]).code, 0);
    await state('db')
      .filter({ hasText: /^down$/ })
      .waitFor();
    assert.equal(run(bin('sv'), ['up', join(svdir, 'db')]).code, 0);
    await state('db').filter({ hasText: /^run$/ }).waitFor();

    // a service's page: its log, live
    await page.click('tr[data-service="web"]');
    await page.locator('#log').filter({ hasText: 'started' }).waitFor();
    writeFileSync(join(svdir, 'web/say'), 'hello from the test');
    await page
      .locator('#log')
      .filter({ hasText: /\d\d:\d\d:\d\d\.\d{5} said: hello from the test/ })
      .waitFor();

    // without the token: refused, and nothing changes
    await page.click('#actions button[data-action="pause"]');
    await page.locator('#message').filter({ hasText: 'pause web: 401' }).waitFor();
    assert.equal(readText(join(svdir, 'web/supervise/stat')), 'run\n');

    // with it: restart (after a confirmation), the new pid shown
    await page.fill('#token', readFileSync(tokenFile, 'utf8').trim());
    await page.click('#actions button[data-action="restart"]');
    const again = await running(join(svdir, 'web'), { notPid: web });
    await pid('web')
      .filter({ hasText: new RegExp(`^${again}$`) })
      .waitFor();
    assert.deepEqual(dialogs, ['restart web?']);
    assert.equal(await page.locator('#message').isHidden(), true);

    // on a phone: one card per service, no table header
    await page.setViewportSize({ width: 375, height: 700 });
    assert.equal(await page.locator('thead').isHidden(), true);
    assert.equal(await state('db').isVisible(), true);
    const shot = join(base, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 1000);
  } finally {
    await browser.close();
  }
});
