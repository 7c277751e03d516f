// Shared test utilities: temporary directories (removed when the test file
// ends), service directories, supervisors started in their own process group
// (so cleanup never kills by name), waiting for events with a timeout,
// readers of supervise/, log directories and /proc, probes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeStatus } from '../dist/protocol/status.js';
import { removeCgroupsUnder } from '../dist/supervisor/containment.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';

/**
 * @typedef {import('node:child_process').ChildProcess} ChildProcess
 * @typedef {import('node:child_process').SpawnOptions} SpawnOptions
 * @typedef {import('node:child_process').SpawnSyncOptions} SpawnSyncOptions
 * @typedef {import('../dist/protocol/status.js').Status} Status
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null }} Exit
 * @typedef {{ stdout: string, stderr: string, stderrChunks: { at: number, end: number }[] }} Output
 * A program started by startDetached: what it printed so far (and when each
 * piece of stderr arrived), and its exit.
 * @typedef {ChildProcess & { pid: number, output: Output, exited: Promise<Exit> }} Detached
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }} RunResult
 */

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** @param {string} name */
export const bin = (name) => join(root, 'bin', name);
/** @param {string} name */
export const debian = (name) => `/usr/bin/${name}`;
export const isRoot = process.getuid?.() === 0;

// --- temporary directories ---

/** @type {string[]} */
const temporary = [];
process.on('exit', () => {
  for (const dir of temporary) {
    try {
      removeDir(dir);
    } catch {}
  }
});

/**
 * A fresh temporary directory (mode 0700 unless `mode` says otherwise),
 * removed when the test file's process exits.
 * @param {string} [prefix]
 * @param {number} [mode]
 */
export function tempDir(prefix = 'runit-ts-', mode) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  if (mode !== undefined) chmodSync(dir, mode);
  return dir;
}

/**
 * Removes `dir` and the empty cgroups the supervisors made for services in
 * it (a supervisor killed with SIGKILL leaves them).
 * @param {string} dir
 */
export function removeDir(dir) {
  removeCgroupsUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A small tmpfs (`size`, e.g. '256k') mounted at a fresh directory (root
 * only); undefined when mount fails.
 * @param {string} size
 * @returns {{ mnt: string, unmount: () => void } | undefined}
 */
export function smallDisk(size) {
  const mnt = tempDir('runit-ts-disk-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  if (r.status !== 0) return undefined;
  return { mnt, unmount: () => void spawnSync('umount', ['-l', mnt]) };
}

// --- commands run as another user ---

/** The uid (and gid) of nobody, for commands run unprivileged. */
export const NOBODY = 65534;

/**
 * [file, args] that run `file` as user and group `id`, without
 * supplementary groups (setpriv; needs root).
 * @param {number} id
 * @param {string} file
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export const asUser = (id, file, args) => ['setpriv', [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', file, ...args]];

/**
 * Make `path` and everything under it readable (and directories searchable) by every user.
 * @param {string} path
 */
function openToAll(path) {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openToAll(join(path, name));
  } else {
    chmodSync(path, st.mode & 0o100 ? 0o755 : 0o644);
  }
}

/** @type {string | undefined} */
let publicRoot;

/**
 * A copy of what the commands need to run (bin/, dist/, package.json, koffi
 * and its prebuilt binary) in a fresh directory every user can reach, made
 * once per test file and removed when it ends. The checkout itself may sit
 * under a private directory (a clone in a mktemp -d or a home directory,
 * mode 0700), where another user cannot reach bin/: commands run as another
 * user (asUser) are run from here.
 */
export function othersRoot() {
  if (publicRoot) return publicRoot;
  const dir = tempDir('runit-ts-public-');
  for (const path of ['package.json', 'bin', 'dist', 'node_modules/koffi', 'node_modules/@koromix']) {
    if (existsSync(join(root, path))) cpSync(join(root, path), join(dir, path), { recursive: true });
  }
  openToAll(dir);
  for (let up = dirname(dir); ; up = dirname(up)) {
    if ((lstatSync(up).mode & 0o001) === 0) throw new Error(`${up} is not searchable by other users: set TMPDIR to a directory that is (it holds ${dir})`);
    if (up === '/') break;
  }
  publicRoot = dir;
  return dir;
}

/**
 * Path of bin/`name` in othersRoot(): for a command that another user runs.
 * @param {string} name
 */
export const othersBin = (name) => join(othersRoot(), 'bin', name);

// --- processes ---

/** @type {Set<Detached>} */
const started = new Set();

/**
 * Start a long-running program in its own process group; killed by stopAll().
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnOptions} [options]
 * @returns {Detached}
 */
export function startDetached(file, args, options = {}) {
  const child = /** @type {Detached} */ (spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...options }));
  /** @type {Output} */
  const output = { stdout: '', stderr: '', stderrChunks: [] };
  child.output = output;
  child.stdout?.on('data', (d) => (output.stdout += d));
  child.stderr?.on('data', (d) => {
    output.stderr += d;
    output.stderrChunks.push({ at: performance.now(), end: output.stderr.length });
  });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

/**
 * startDetached with a pipe to the program's stdin (a write after the
 * program ended is not an error).
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnOptions} [options]
 * @returns {Detached & { stdin: import('node:stream').Writable }}
 */
export function startWithInput(file, args, options = {}) {
  const child = startDetached(file, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdin = child.stdin;
  assert.ok(stdin);
  stdin.on('error', () => {});
  return Object.assign(child, { stdin });
}

/** SIGKILL every process group started by startDetached and still alive. */
export async function stopAll() {
  const waits = [];
  for (const child of started) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    // a descendant that left the group (setsid) may still hold these pipes
    child.stdout?.destroy();
    child.stderr?.destroy();
    waits.push(child.exited);
  }
  await Promise.all(waits);
}

/**
 * The performance.now() times at which each occurrence of `text` arrived on
 * `child`'s stderr, in order.
 * @param {Detached} child
 * @param {string} text
 */
export function arrivals(child, text) {
  const { stderr, stderrChunks } = child.output;
  const times = [];
  let chunk = 0;
  for (let at = stderr.indexOf(text); at !== -1; at = stderr.indexOf(text, at + text.length)) {
    while (stderrChunks[chunk].end < at + text.length) chunk++;
    times.push(stderrChunks[chunk].at);
  }
  return times;
}

/**
 * Run a command to completion, with the pid it had.
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 * @returns {RunResult & { pid: number }}
 */
export function runWithPid(file, args, options = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30000, ...options });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), pid: r.pid };
}

/**
 * Run a command to completion without blocking the event loop (output of
 * programs started with startDetached keeps arriving meanwhile).
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnOptions} [options]
 * @returns {Promise<RunResult>}
 */
export function runAsync(file, args, options = {}) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Run a command to completion: { code, signal, stdout, stderr }.
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 * @returns {RunResult}
 */
export function run(file, args, options = {}) {
  const { pid: _, ...r } = runWithPid(file, args, options);
  return r;
}

/**
 * `r` with `prog` (a program's path) in its stderr replaced by PROG and a
 * `$Id: ... $` line by `$Id: X $`: two programs' usage messages compared.
 * @template {RunResult} R
 * @param {R} r
 * @param {string} prog
 * @returns {R}
 */
export function normalizeProg(r, prog) {
  return {
    ...r,
    stderr: r.stderr
      .split(prog)
      .join('PROG')
      .replace(/^\$Id: .* \$$/m, '$Id: X $'),
  };
}

/**
 * Whether process `pid` exists (a zombie too); never for 0 or less, which
 * kill(2) takes for process groups.
 * @param {number} pid
 */
export function processExists(pid) {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parsed /proc/PID/stat: comm, state, ppid, pgrp, session; undefined when gone.
 * @param {number | string} pid
 */
export function procStat(pid) {
  const text = readText(`/proc/${pid}/stat`);
  if (!text) return undefined;
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    pid: Number(pid),
    comm: text.slice(text.indexOf('(') + 1, close),
    state: fields[0],
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
  };
}

/**
 * Whether `pid` has ended: gone, or a zombie not reaped yet.
 * @param {number} pid
 */
export const processGone = (pid) => !processExists(pid) || procStat(pid)?.state === 'Z';

/** Every process on this machine, as procStat gives them. */
function allProcesses() {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(procStat)
    .filter((s) => s !== undefined);
}

/**
 * Every process whose parent is `ppid` (zombies included).
 * @param {number} ppid
 */
export function childrenOf(ppid) {
  return allProcesses().filter((s) => s.ppid === ppid);
}

/**
 * Pids of live (non-zombie) processes whose command line contains `marker`,
 * leaving out those whose parent is one of them (a shell's fork before it
 * execs a program still shows the shell's command line).
 * @param {string} marker
 */
export function processesWith(marker) {
  const found = new Map(
    allProcesses()
      .filter((s) => s.state !== 'Z' && (readText(`/proc/${s.pid}/cmdline`) ?? '').includes(marker))
      .map((s) => [s.pid, s.ppid]),
  );
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

/**
 * Bytes `pid` has written so far (/proc/PID/io wchar: its write calls, and
 * those of the children it reaped).
 * @param {number} pid
 */
export function bytesWritten(pid) {
  const m = /^wchar:\s*(\d+)$/m.exec(readText(`/proc/${pid}/io`) ?? '');
  if (!m) throw new Error(`no /proc/${pid}/io`);
  return Number(m[1]);
}

// --- waiting ---

/**
 * Poll `fn` until it returns a truthy value, and return that; throw after
 * `timeout` ms (with the last error `fn` threw, if it threw). `what` names
 * the event in the message (a function is asked at the time out).
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {{ timeout?: number, interval?: number, what?: string | (() => string) }} [options]
 * @returns {Promise<Exclude<Awaited<T>, false | 0 | '' | null | undefined>>}
 */
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
    if (value) return /** @type {Exclude<Awaited<T>, false | 0 | '' | null | undefined>} */ (value);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Assert that `fn` stays truthy for `ms` milliseconds, polling: for a check
 * that something does NOT happen within a bounded time (a restart, a
 * rotation). Fails at the first poll that sees it happen.
 * @param {() => unknown} fn
 * @param {number} ms
 * @param {string} what the state that must hold
 */
export async function holds(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    assert.ok(fn(), `${what}: no longer so within ${ms} ms`);
    if (Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// --- files ---

/**
 * A file's text, or undefined when it cannot be read.
 * @param {string} path
 */
export function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The non-empty lines of `text`.
 * @param {string} text
 */
export const lines = (text) => text.split('\n').filter(Boolean);

/**
 * The non-empty lines of the file at `path` (none when it does not exist).
 * @param {string} path
 */
export const fileLines = (path) => lines(readText(path) ?? '');

/**
 * Create a service directory. `files` maps relative paths to contents;
 * names ending in run/finish/check or under control/ are made executable.
 * @param {string} dir
 * @param {Record<string, string>} files
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

// --- supervise/ ---

/**
 * supervise/stat of service directory `dir`.
 * @param {string} dir
 */
export const stat = (dir) => readText(join(dir, 'supervise/stat'));

/**
 * supervise/status of service directory `dir`, decoded; undefined when
 * missing or not 20 bytes.
 * @param {string} dir
 * @returns {Status | undefined}
 */
export function statusOf(dir) {
  try {
    return decodeStatus(readFileSync(join(dir, 'supervise/status')));
  } catch {
    return undefined;
  }
}

/**
 * Pid recorded in supervise/pid, or 0.
 * @param {string} dir
 */
export function supervisedPid(dir) {
  return Number(readText(join(dir, 'supervise/pid')) || 0);
}

/**
 * Wait until the service in `dir` runs, with a pid other than `notPid`:
 * pid, stat and status are renamed into place one after the other, so all
 * three, and the process exists. Resolves with the pid.
 * @param {string} dir
 * @param {{ notPid?: number, timeout?: number }} [options]
 */
export function running(dir, { notPid = 0, timeout = 10000 } = {}) {
  return waitFor(
    () => {
      const pid = supervisedPid(dir);
      return pid !== notPid && stat(dir) === 'run\n' && statusOf(dir)?.pid === pid && processExists(pid) && pid;
    },
    { what: `service running in ${dir}${notPid ? ` (not as ${notPid})` : ''}`, timeout },
  );
}

/**
 * Replace pids and seconds in sv output so runit's and ours compare.
 * @param {string} text
 */
export function normalizeSv(text) {
  return text.replace(/\(pid \d+\)/g, '(pid N)').replace(/ \d+s/g, ' Ns');
}

/**
 * A 20-byte supervise/status record as runsv writes it, made by hand:
 * started `ago` seconds before now (or at TAI `sec`), `extra` bytes longer.
 * @param {{ ago?: number, sec?: bigint, nsec?: number, pid?: number, paused?: number, want?: string, term?: number, state?: number, extra?: number }} [fields]
 */
export function statusRecord({ ago = 5, sec, nsec = 123456, pid = 0, paused = 0, want = 'u', term = 0, state = 0, extra = 0 } = {}) {
  const b = Buffer.alloc(20 + extra);
  b.writeBigUInt64BE(sec ?? TAI_OFFSET + BigInt(Math.floor(Date.now() / 1000) - ago), 0);
  b.writeUInt32BE(nsec, 8);
  b.writeUInt32LE(pid, 12);
  b[16] = paused;
  b[17] = want.charCodeAt(0);
  b[18] = term;
  b[19] = state;
  return b;
}

/**
 * A supervise/ directory written by hand in service directory `dir`: `ok`
 * a regular file (so a "runsv" is there), a FIFO nobody reads ('fifo': no
 * runsv) or absent ('none'); `control` a regular file that records what sv
 * sent, a FIFO or absent; `status` a record, a directory ('dir') or absent.
 * @param {string} dir
 * @param {{ status?: Buffer | 'dir', ok?: 'file' | 'fifo' | 'none', control?: 'file' | 'fifo' | 'none' }} [files]
 */
export function craftSupervise(dir, { status, ok = 'file', control = 'file' } = {}) {
  const supervise = join(dir, 'supervise');
  mkdirSync(supervise, { recursive: true });
  /** @param {string} name */
  const mkfifo = (name) => assert.equal(spawnSync('mkfifo', [join(supervise, name)]).status, 0, `mkfifo ${name}`);
  if (ok === 'file') writeFileSync(join(supervise, 'ok'), '');
  else if (ok === 'fifo') mkfifo('ok');
  if (control === 'file') writeFileSync(join(supervise, 'control'), '');
  else if (control === 'fifo') mkfifo('control');
  if (Buffer.isBuffer(status)) writeFileSync(join(supervise, 'status'), status);
  else if (status === 'dir') mkdirSync(join(supervise, 'status'));
}

// --- log directories ---

/**
 * Names of the old files (@...) of a log directory, oldest first; only those
 * ending in `suffix` when given.
 * @param {string} dir
 * @param {string} [suffix]
 */
export function oldFiles(dir, suffix) {
  return readdirSync(dir)
    .filter((n) => n.startsWith('@') && (suffix === undefined || n.endsWith(suffix)))
    .sort();
}

/**
 * Everything a log directory holds, oldest first: its old files (those
 * ending in `suffix` when given), then current.
 * @param {string} dir
 * @param {string} [suffix]
 */
export function logText(dir, suffix) {
  return [...oldFiles(dir, suffix), 'current'].map((n) => readFileSync(join(dir, n), 'latin1')).join('');
}

/**
 * Total size of a log directory's current and old files.
 * @param {string} dir
 */
export function loggedBytes(dir) {
  return [...oldFiles(dir), 'current'].reduce((n, f) => n + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0), 0);
}

// --- runit stages ---

/** The first line runit-ts's runit prints. */
export const RUNIT_BOOT = '- runit: $Id: runit-ts runit 0.1.0 $: booting.';

/**
 * A stage directory under `base`: `scripts` maps names (1, 2, 3, ctrlaltdel)
 * to shell script bodies.
 * @param {string} base
 * @param {Record<string, string>} scripts
 */
export function runitStages(base, scripts) {
  const dir = join(base, 'etc-runit');
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return dir;
}

/**
 * runit's messages for stages of `dir` entered and left in turn.
 * @param {string} dir
 * @param {...(string | number)} names
 */
export const stageLines = (dir, ...names) => names.flatMap((n) => [`- runit: enter stage: ${dir}/${n}`, `- runit: leave stage: ${dir}/${n}`]);

// --- process 1 of a PID namespace (runit) ---

/**
 * Start argv as process 1 of a new PID and mount namespace (with its own
 * /proc), in its own process group; killed by stopAll() (--kill-child: the
 * namespace, and everything in it, dies with unshare).
 * @param {string[]} argv
 * @param {SpawnOptions} [options]
 */
export function startInPidNamespace(argv, options = {}) {
  return startDetached('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], options);
}

/**
 * The pid (in this namespace) of process 1 of the namespace that `child` (unshare) started.
 * @param {Detached} child
 */
export async function namespaceInit(child) {
  return waitFor(() => Number(readText(`/proc/${child.pid}/task/${child.pid}/children`)?.trim().split(' ')[0]) || 0, {
    what: 'process 1 of the namespace',
  });
}

// --- chpst probes: programs that report the process state they were started with ---

/** fcntl flags seen in /proc/PID/fdinfo. */
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/**
 * argv of a probe that prints its own /proc status, stat and limits. cat
 * changes nothing it inherited (a shell would clear the signal mask).
 */
export const statusProbe = ['/bin/cat', '/proc/self/status', '/proc/self/stat', '/proc/self/limits'];

/**
 * @typedef {{ pid: number, uid: number[], gid: number[], groups: number[], sigIgn: string | undefined, sigBlk: string | undefined,
 *   pgrp: number, session: number, nice: number, limits: Record<string, { soft: string, hard: string }> }} ProbedStatus
 */

/**
 * Parse statusProbe's output into ids, signal sets, pid, pgrp, session, nice and limits.
 * @param {string} text
 * @returns {ProbedStatus}
 */
export function parseStatusProbe(text) {
  /** @type {Record<string, string>} */
  const status = {};
  /** @type {Record<string, { soft: string, hard: string }>} */
  const limits = {};
  /** @type {string | undefined} */
  let stat;
  for (const line of text.split('\n')) {
    if (stat === undefined && /^\d+ \(/.test(line)) {
      stat = line;
      continue;
    }
    if (stat === undefined) {
      const m = /^([^:]+):\s*(.*)$/.exec(line);
      if (m) status[m[1]] = m[2];
      continue;
    }
    const m = /^(Max .+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) limits[m[1]] = { soft: m[2], hard: m[3] };
  }
  if (stat === undefined) throw new Error(`not a status probe output: ${text}`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  /** @param {string | undefined} s */
  const ids = (s) => (s ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    pid: Number(status.Pid),
    uid: ids(status.Uid),
    gid: ids(status.Gid),
    groups: ids(status.Groups),
    sigIgn: status.SigIgn,
    sigBlk: status.SigBlk,
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    nice: Number(fields[16]),
    limits,
  };
}

const SHELL_PROBE = `d=$1 PATH=/usr/bin:/bin
for f in 0 1 2 3 4 5 6 7 8 9; do
  if [ -e /proc/$$/fdinfo/$f ]; then cat /proc/$$/fdinfo/$f >"$d/fdinfo.$f"; fi
done
ls /proc/$$/fd >"$d/fds"
cat /proc/$$/environ >"$d/environ"
cat /proc/$$/cmdline >"$d/cmdline"
readlink /proc/$$/cwd >"$d/cwd"
readlink /proc/$$/exe >"$d/exe"
echo $$ >"$d/pid"
`;

/**
 * argv of a /bin/sh probe that writes its fds, environment, argv, cwd, exe and pid into `dir` (mode 0777 for other users).
 * @param {string} dir
 */
export function shellProbe(dir) {
  return ['/bin/sh', '-c', SHELL_PROBE, 'probe', dir];
}

/**
 * What shellProbe wrote: fd flags (octal text, undefined when closed), env entries, argv, fds, cwd, exe, pid.
 * @param {string} dir
 */
export function readShellProbe(dir) {
  /** @type {Record<number, string | undefined>} */
  const fdFlags = {};
  for (let fd = 0; fd < 10; fd++) {
    const text = readText(join(dir, `fdinfo.${fd}`));
    fdFlags[fd] = text === undefined ? undefined : /flags:\s*(\d+)/.exec(text)?.[1];
  }
  /** @param {string} name */
  const nulList = (name) => {
    const list = readFileSync(join(dir, name)).toString('latin1').split('\0');
    if (list.at(-1) === '') list.pop();
    return list;
  };
  /** @param {string} name */
  const text = (name) => readFileSync(join(dir, name), 'utf8');
  return {
    fdFlags,
    fds: text('fds')
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b),
    environ: nulList('environ'),
    argv: nulList('cmdline'),
    cwd: text('cwd').trim(),
    exe: text('exe').trim(),
    pid: Number(text('pid')),
  };
}

/**
 * The flags (O_*) of descriptor `fd` as shellProbe saw them; asserts that it was open.
 * @param {{ fdFlags: Record<number, string | undefined> }} probe
 * @param {number} fd
 */
export function openFlags(probe, fd) {
  const text = probe.fdFlags[fd];
  assert.ok(text !== undefined, `fd ${fd} is open`);
  return parseInt(text, 8);
}

/**
 * Make `root` (mode 1777) a root directory to chroot into: /bin/sh with its
 * libraries, and users and groups that exist only there (root, ghost 4321;
 * ghosts 4322, spirits 4323).
 * @param {string} root
 */
export function chrootWithShell(root) {
  const sh = realpathSync('/bin/sh');
  const files = ['/bin/sh', sh];
  for (const m of spawnSync('ldd', [sh], { encoding: 'utf8' }).stdout.matchAll(/(\/\S+)/g)) files.push(m[1], realpathSync(m[1]));
  for (const file of files) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    if (!existsSync(join(root, file))) copyFileSync(file, join(root, file));
    chmodSync(join(root, file), 0o755);
  }
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\nghost:x:4321:4322::/:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nghosts:x:4322:\nspirits:x:4323:\n');
  chmodSync(root, 0o1777);
  return root;
}

/** @type {Record<string, Record<string, number>>} */
const SYSCALLS = {
  x64: { setuid: 105, setgid: 106, setgroups: 116, setrlimit: 160, prlimit64: 302 },
  arm64: { setuid: 146, setgid: 144, setgroups: 159, setrlimit: 164, prlimit64: 261 },
};

/** Whether withFailingSyscalls works here (python3 and a known architecture). */
export const canFailSyscalls = Boolean(SYSCALLS[process.arch]) && spawnSync('python3', ['-c', '0']).status === 0;

const SECCOMP = `
import ctypes, json, os, struct, sys
def block(nr, arg, value, nonzero):
    ins = [('ld', 0), ('jne', nr)]
    if arg >= 0: ins += [('ld', 16 + 8 * arg), ('jne', value)]
    if nonzero >= 0: ins += [('ld', 16 + 8 * nonzero), ('jeq', 0)]
    ins += [('ret', 0x00050000 | 1)]
    out = []
    for i, (op, k) in enumerate(ins):
        skip = len(ins) - i - 1
        code, jt, jf = {'ld': (0x20, 0, 0), 'jne': (0x15, 0, skip), 'jeq': (0x15, skip, 0), 'ret': (0x06, 0, 0)}[op]
        out.append(struct.pack('HBBI', code, jt, jf, k))
    return out
rules = json.loads(sys.argv[1])
prog = sum((block(*r) for r in rules), []) + [struct.pack('HBBI', 0x06, 0, 0, 0x7fff0000)]
buf = ctypes.create_string_buffer(b''.join(prog))
class Fprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
fprog = Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(38, 1, 0, 0, 0)
if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit('seccomp: ' + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[2], sys.argv[2:])
`;

/**
 * @typedef {string | { name: string, arg?: number, value?: number, nonzero?: number }} SyscallRule
 */

/**
 * [file, args] that run argv with some syscalls failing with EPERM (a
 * seccomp filter set up by python3). A rule is a syscall name, or
 * { name, arg, value } (only when argument `arg` equals `value`), with
 * `nonzero: n` (only when argument n is not 0).
 * @param {SyscallRule[]} rules
 * @param {string[]} argv
 * @returns {[string, string[]]}
 */
export function withFailingSyscalls(rules, argv) {
  const numbers = SYSCALLS[process.arch];
  const spec = rules.map((r) => (typeof r === 'string' ? { name: r } : r)).map((r) => [numbers[r.name], r.arg ?? -1, r.value ?? 0, r.nonzero ?? -1]);
  return ['python3', ['-c', SECCOMP, JSON.stringify(spec), ...argv]];
}

// --- runit-ts serve ---

/**
 * `runit-ts serve` on a free port (or a socket) for `svdir`, once it listens.
 * @param {string} svdir
 * @param {string[]} args
 */
export async function startServe(svdir, args = []) {
  const listen = args.includes('--socket') ? [] : ['--listen', '127.0.0.1:0'];
  const server = startDetached(bin('runit-ts'), ['serve', ...listen, ...args], { env: { ...process.env, SVDIR: svdir } });
  const where = await waitFor(() => /listening on (\S+?),/.exec(server.output.stderr)?.[1], { what: 'serve listening' });
  return { server, where, port: Number(/:(\d+)\/$/.exec(where)?.[1]) };
}

/**
 * One HTTP request; the body as text.
 * @param {{ port?: number, socketPath?: string }} to
 * @param {string} path
 * @param {{ method?: string, headers?: Record<string, string> }} [options]
 * @returns {Promise<{ status: number, body: string, headers: import('node:http').IncomingHttpHeaders }>}
 */
export function http(to, path, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    // a connection per request: Node 20's agent keeps sockets alive, and one reused as the server closes it hangs up
    const req = request({ host: '127.0.0.1', ...to, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
