// runsvdir loads the in-process logger's modules only once a canonical
// log/run is found: a letter that arrives while they are still loading is
// delivered once the logger runs. This file's process has not loaded them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { closeSync, existsSync, writeSync } from 'node:fs';
import { tempDir, makeService, waitFor } from './helpers.js';
import { hostCanonicalLoggers } from '../dist/scanner/hosted-log.js';
import { pipe } from '../dist/sys/fd.js';

test('a TERM sent while the logger is loading ends it once it runs', async () => {
  const logDir = join(makeService(join(tempDir(), 'svc'), { 'log/run': '#!/bin/sh\nexec svlogd ./main\n' }), 'log');
  makeService(join(logDir, 'main'), {});
  makeService(join(logDir, 'supervise'), {});
  /** @type {string[]} */
  const said = [];
  const log = hostCanonicalLoggers({ write: (text) => said.push(String(text)) })(logDir);
  assert.ok(log, 'a canonical log/run is hosted');
  const { read, write } = pipe();
  // should the TERM be lost, the end of input ends the logger, so the test still ends
  after(() => closeSync(write));
  writeSync(write, 'first line\n');
  /** @type {unknown} */
  let ended;
  log.start(read, (status) => (ended = status));
  // at once, before the modules have loaded; the input stays open, so only the TERM can end it
  log.signal('SIGTERM');
  await waitFor(() => ended, { what: () => `the logger's end (said: ${said.join('')})` });
  assert.deepEqual(ended, { code: 0, signal: 0 });
  assert.ok(existsSync(join(logDir, 'main/current')), 'it had started: its directory is open');
  closeSync(read);
});
