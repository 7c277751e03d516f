// Shared test utilities: temporary service directories, supervisors started
// in their own process group (so cleanup never kills by name), polling.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, cpSync, existsSync, chmodSync, lstatSync, readdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = (name) => join(root, 'bin', name);
export const debian = (name) => `/usr/bin/${name}`;

// --- commands run as another user ---

/** The uid (and gid) of nobody, for commands run unprivileged. */
export const NOBODY = 65534;

/** [file, args] that run `file` as user and group `id`, without supplementary groups (setpriv; needs root). */
export const asUser = (id, file, args) => ['setpriv', [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', file, ...args]];

/** Make `path` and everything under it readable (and directories searchable) by every user. */
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
  const dir = mkdtempSync(join(tmpdir(), 'runit-ts-public-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
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

/** Path of bin/`name` in othersRoot(): for a command that another user runs. */
export const othersBin = (name) => join(othersRoot(), 'bin', name);

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
    // a descendant that left the group (setsid) may still hold these pipes
    child.stdout?.destroy();
    child.stderr?.destroy();
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

// --- chpst probes: programs that report the process state they were started with ---

/**
 * argv of a probe that prints its own /proc status, stat and limits. cat
 * changes nothing it inherited (a shell would clear the signal mask).
 */
export const statusProbe = ['/bin/cat', '/proc/self/status', '/proc/self/stat', '/proc/self/limits'];

/** Parse statusProbe's output into ids, signal sets, pid, pgrp, session, nice and limits. */
export function parseStatusProbe(text) {
  const status = {};
  const limits = {};
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
  const ids = (s) => s.trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    pid: Number(status.Pid),
    uid: ids(status.Uid),
    gid: ids(status.Gid),
    groups: ids(status.Groups ?? ''),
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

/** argv of a /bin/sh probe that writes its fds, environment, argv, cwd, exe and pid into `dir` (mode 0777 for other users). */
export function shellProbe(dir) {
  return ['/bin/sh', '-c', SHELL_PROBE, 'probe', dir];
}

/** What shellProbe wrote: fd flags (octal text, undefined when closed), env entries, argv, fds, cwd, exe, pid. */
export function readShellProbe(dir) {
  const fdFlags = {};
  for (let fd = 0; fd < 10; fd++) {
    const text = readText(join(dir, `fdinfo.${fd}`));
    fdFlags[fd] = text === undefined ? undefined : /flags:\s*(\d+)/.exec(text)[1];
  }
  const nulList = (name) => {
    const buf = readFileSync(join(dir, name));
    const list = buf.toString('latin1').split('\0');
    if (list.at(-1) === '') list.pop();
    return list;
  };
  return {
    fdFlags,
    fds: readText(join(dir, 'fds'))
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b),
    environ: nulList('environ'),
    argv: nulList('cmdline'),
    cwd: readText(join(dir, 'cwd')).trim(),
    exe: readText(join(dir, 'exe')).trim(),
    pid: Number(readText(join(dir, 'pid'))),
  };
}

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
 * [file, args] that run argv with some syscalls failing with EPERM (a
 * seccomp filter set up by python3). A rule is a syscall name, or
 * { name, arg, value } (only when argument `arg` equals `value`), with
 * `nonzero: n` (only when argument n is not 0).
 */
export function withFailingSyscalls(rules, argv) {
  const numbers = SYSCALLS[process.arch];
  const spec = rules.map((r) => (typeof r === 'string' ? { name: r } : r)).map((r) => [numbers[r.name], r.arg ?? -1, r.value ?? 0, r.nonzero ?? -1]);
  return ['python3', ['-c', SECCOMP, JSON.stringify(spec), ...argv]];
}

// --- process 1 of a PID namespace (runit) ---

/**
 * Start argv as process 1 of a new PID and mount namespace (with its own
 * /proc), in its own process group; killed by stopAll() (--kill-child: the
 * namespace, and everything in it, dies with unshare).
 */
export function startInPidNamespace(argv, options = {}) {
  return startDetached('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], options);
}

/** The pid (in this namespace) of process 1 of the namespace that `child` (unshare) started. */
export async function namespaceInit(child) {
  return waitFor(() => Number(readText(`/proc/${child.pid}/task/${child.pid}/children`)?.trim().split(' ')[0]) || 0, {
    what: 'process 1 of the namespace',
  });
}

/** Parsed /proc/PID/stat: comm, state, ppid, pgrp, session; undefined when gone. */
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

/** Every process whose parent is `ppid` (zombies included). */
export function childrenOf(ppid) {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(procStat)
    .filter((s) => s && s.ppid === ppid);
}
