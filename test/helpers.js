// Shared test utilities: temporary service directories, supervisors started
// in their own process group (so cleanup never kills by name), polling.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = (name) => join(root, 'bin', name);
export const debian = (name) => `/usr/bin/${name}`;

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'runit-ts-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Create a service directory. `files` maps relative paths to contents;
 * names ending in run/finish/check or under control/ are made executable.
 */
export function makeService(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    const executable = /(^|\/)(run|finish|check)$/.test(name) || name.startsWith('control/') || name.includes('/control/');
    writeFileSync(path, content, { mode: executable ? 0o755 : 0o644 });
  }
  return dir;
}

const started = new Set();

/** Start a long-running program in its own process group; killed by stopAll(). */
export function startDetached(file, args, options = {}) {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => (child.output.stdout += d));
  child.stderr?.on('data', (d) => (child.output.stderr += d));
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

/** SIGKILL every process group started by startDetached and still alive. */
export async function stopAll() {
  const waits = [];
  for (const child of started) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    waits.push(child.exited);
  }
  await Promise.all(waits);
}

/** Poll `fn` until it returns a truthy value; throw after `timeout` ms. */
export async function waitFor(fn, { timeout = 5000, interval = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    let value;
    try {
      value = await fn();
    } catch (err) {
      value = undefined;
      if (Date.now() > deadline) throw err;
    }
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Run a command to completion: { code, stdout, stderr }. */
export function run(file, args, options = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30000, ...options });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Pid recorded in supervise/pid, or 0. */
export function supervisedPid(serviceDir) {
  return Number(readText(join(serviceDir, 'supervise/pid')) || 0);
}

export function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Replace pids and seconds in sv output so runit's and ours compare. */
export function normalizeSv(text) {
  return text.replace(/\(pid \d+\)/g, '(pid N)').replace(/ \d+s/g, ' Ns');
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
