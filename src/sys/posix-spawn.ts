// Starting a program with glibc's posix_spawn: the child is made with
// clone(CLONE_VM | CLONE_VFORK), so no page table of this (large) process is
// copied — about 0.2 ms where libuv's fork costs 1.5 ms and more — and the
// call returns exec's own error. The child starts as libuv's would: every
// signal at its default action, none blocked, fds 0-2 blocking and
// inheritable, nothing else inherited (all our fds are close-on-exec).
// Reaping is the caller's: these children are not libuv's.
import { libcFunction, checkReturned as check } from './libc.js';
import { SysError } from './errors.js';
import { setNonblock, isNonblocking } from './fd.js';
import { findProgram } from './access.js';

const spawnC = libcFunction('int posix_spawn(_Out_ int *pid, const char *path, uint8_t *actions, uint8_t *attr, const char **argv, const char **envp)');
const actionsInit = libcFunction('int posix_spawn_file_actions_init(uint8_t *actions)');
const actionsDestroy = libcFunction('int posix_spawn_file_actions_destroy(uint8_t *actions)');
const addDup2 = libcFunction('int posix_spawn_file_actions_adddup2(uint8_t *actions, int fd, int newfd)');
const addOpen = libcFunction('int posix_spawn_file_actions_addopen(uint8_t *actions, int fd, const char *path, int flags, uint32_t mode)');
const addClose = libcFunction('int posix_spawn_file_actions_addclose(uint8_t *actions, int fd)');
const addChdir = libcFunction('int posix_spawn_file_actions_addchdir_np(uint8_t *actions, const char *path)');
const attrInit = libcFunction('int posix_spawnattr_init(uint8_t *attr)');
const attrSetFlags = libcFunction('int posix_spawnattr_setflags(uint8_t *attr, short flags)');
const attrSetSigmask = libcFunction('int posix_spawnattr_setsigmask(uint8_t *attr, const uint8_t *set)');
const attrSetSigdefault = libcFunction('int posix_spawnattr_setsigdefault(uint8_t *attr, const uint8_t *set)');
const sigemptyset = libcFunction('int sigemptyset(uint8_t *set)');

const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_RDWR = 2;
// glibc's sizes are 80 and 336 bytes on 64-bit Linux; room to spare
const ACTIONS_SIZE = 256;
const ATTR_SIZE = 512;
const SIGSET_SIZE = 128;

export interface PosixSpawnOptions {
  cwd: string;
  /** what the child's fds 0, 1, 2, ... are: an fd of ours, or 'ignore' (/dev/null on 0-2, closed above) */
  fds: readonly (number | 'ignore')[];
  env: NodeJS.ProcessEnv;
  argv0?: string;
  newSession?: boolean;
  /** own process group (setpgid(0, 0)), in this session */
  newGroup?: boolean;
}

let attrs: { plain: Buffer; session: Buffer; group: Buffer } | undefined;

/** The attribute sets used: all signals default, empty mask; plain, with setsid, or with a new process group. */
function spawnAttrs(): { plain: Buffer; session: Buffer; group: Buffer } {
  if (attrs) return attrs;
  // every bit set by hand: sigfillset leaves out glibc's internal signals
  // (32, 33), which posix_spawn would then leave ignored across the exec
  const all = Buffer.alloc(SIGSET_SIZE, 0xff);
  const none = Buffer.alloc(SIGSET_SIZE);
  sigemptyset(none);
  const make = (flags: number): Buffer => {
    const attr = Buffer.alloc(ATTR_SIZE);
    check(attrInit(attr), 'posix_spawnattr_init');
    check(attrSetSigdefault(attr, all), 'posix_spawnattr_setsigdefault');
    check(attrSetSigmask(attr, none), 'posix_spawnattr_setsigmask');
    check(attrSetFlags(attr, flags), 'posix_spawnattr_setflags');
    return attr;
  };
  const base = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  // the attribute's process group is 0 after init: the child's own pid
  attrs = { plain: make(base), session: make(base | POSIX_SPAWN_SETSID), group: make(base | POSIX_SPAWN_SETPGROUP) };
  return attrs;
}

/** Whether this libc has what posixSpawn needs (glibc 2.29 and later). */
export function posixSpawnAvailable(): boolean {
  try {
    spawnAttrs();
    const actions = Buffer.alloc(ACTIONS_SIZE);
    check(actionsInit(actions), 'posix_spawn_file_actions_init');
    try {
      check(addChdir(actions, '/'), 'posix_spawn_file_actions_addchdir_np');
    } finally {
      actionsDestroy(actions);
    }
    return true;
  } catch {
    return false;
  }
}

/** The child's fds as file actions. Sources that a later dup2 would overwrite are first moved out of the way. */
function addFds(actions: Buffer, fds: readonly (number | 'ignore')[]): void {
  const n = fds.length;
  const sources = fds.filter((fd): fd is number => typeof fd === 'number');
  const clash = fds.some((fd, i) => typeof fd === 'number' && fd !== i && fd < n);
  const high = Math.max(n, ...sources) + 1;
  if (clash) for (const [i, fd] of fds.entries()) if (typeof fd === 'number') check(addDup2(actions, fd, high + i), 'posix_spawn_file_actions_adddup2');
  fds.forEach((fd, i) => {
    // 'ignore' is /dev/null on 0-2 and left closed above (as libuv does)
    if (fd === 'ignore') {
      if (i <= 2) check(addOpen(actions, i, '/dev/null', O_RDWR, 0), 'posix_spawn_file_actions_addopen');
    } else {
      // a dup2 onto itself clears close-on-exec (glibc >= 2.29)
      check(addDup2(actions, clash ? high + i : fd, i), 'posix_spawn_file_actions_adddup2');
      if (clash) check(addClose(actions, high + i), 'posix_spawn_file_actions_addclose');
      // libuv makes the child's 0-2 blocking; the description is shared, so this is the same
      if (i <= 2 && isNonblocking(fd)) setNonblock(fd, false);
    }
  });
}

/** envp for `env`; this process's own environment is built once (below). */
let hostEnvp: (string | null)[] | undefined;
function envpOf(env: NodeJS.ProcessEnv): (string | null)[] {
  // Reading process.env goes through a getenv per variable (~0.1 ms for a
  // few dozen, most of a crash loop's start): runit-ts sets its own
  // environment only as it starts (sys/launch.ts), before any spawn, so the
  // host's is built at the first spawn and reused.
  if (env === process.env && hostEnvp) return hostEnvp;
  const envp: (string | null)[] = [];
  for (const [name, value] of Object.entries(env)) if (value !== undefined) envp.push(`${name}=${value}`);
  envp.push(null);
  if (env === process.env) hostEnvp = envp;
  return envp;
}

/**
 * Start `file` with `args`; returns the pid. Throws a SysError whose code is
 * exec's error (ENOENT, EACCES, ENOEXEC, ...) or the clone's (EAGAIN, ENOMEM).
 */
export function posixSpawn(file: string, args: readonly string[], options: PosixSpawnOptions): number {
  const call = prepare(file, args, options);
  try {
    const pid = [0];
    check(spawnC(pid, call.path, call.actions, call.attr, call.argv, call.envp), 'posix_spawn', file);
    return pid[0]!;
  } finally {
    actionsDestroy(call.actions);
  }
}

/**
 * posixSpawn in libuv's thread pool: the clone and the wait until the child
 * has exec'd (CLONE_VFORK: the calling thread is suspended until then,
 * milliseconds on a busy machine) happen off the event loop. Rejects as
 * posixSpawn throws. The fds in `options.fds` must stay open until it settles.
 */
export function posixSpawnAsync(file: string, args: readonly string[], options: PosixSpawnOptions): Promise<number> {
  let call: Prepared;
  try {
    call = prepare(file, args, options);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const pid = [0];
    spawnC.async(pid, call.path, call.actions, call.attr, call.argv, call.envp, (err: unknown, result: number) => {
      actionsDestroy(call.actions);
      if (err) reject(err);
      else if (result !== 0) reject(new SysError('posix_spawn', result, file));
      else resolve(pid[0]!);
    });
  });
}

interface Prepared {
  path: string;
  argv: (string | null)[];
  envp: (string | null)[];
  attr: Buffer;
  /** initialized: the caller destroys it */
  actions: Buffer;
}

function prepare(file: string, args: readonly string[], options: PosixSpawnOptions): Prepared {
  const path = findProgram(file, options.env.PATH, options.cwd);
  if (path === undefined) throw new SysError('posix_spawn', 2 /* ENOENT */, file);
  const argv: (string | null)[] = [options.argv0 ?? file, ...args, null];
  const envp = envpOf(options.env);
  const { plain, session, group } = spawnAttrs();
  const actions = Buffer.alloc(ACTIONS_SIZE);
  check(actionsInit(actions), 'posix_spawn_file_actions_init');
  try {
    check(addChdir(actions, options.cwd), 'posix_spawn_file_actions_addchdir_np');
    addFds(actions, options.fds);
  } catch (err) {
    actionsDestroy(actions);
    throw err;
  }
  return { path, argv, envp, attr: options.newSession ? session : options.newGroup ? group : plain, actions };
}
