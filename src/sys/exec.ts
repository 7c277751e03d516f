// The one path that replaces this process with another program. Node leaves
// state behind that a clean program must not inherit (docs/architecture.md, "Exec state").
import { closeSync } from 'node:fs';
import { libcFunction, lastErrno } from './libc.js';
import { SysError } from './errors.js';
import { setCloexec, setNonblock, dupCloexec, dup3 } from './fd.js';
import { getEnv } from '../util/environ.js';

const signal = libcFunction('intptr_t signal(int sig, intptr_t handler)');
const sigprocmask = libcFunction('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)');
const execve = libcFunction('int execve(const char *path, void **argv, void **envp)');

const SIG_SETMASK = 2;
const NSIG = 65;
const SIGKILL = 9;
const SIGSTOP = 19;
const SIG_DFL = 0;
const SIG_IGN = 1;
const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;
const EISDIR = 21;

/**
 * Signal state, as bit sets in the layout of /proc/<pid>/status (bit n-1 is
 * signal n): what a program is to inherit instead of Node's.
 */
export interface SignalState {
  ignored: bigint;
  blocked: bigint;
}

/**
 * Undo what Node did to this process: stdio flags, signal dispositions, mask.
 * Every signal gets its default action and none is blocked, unless `signals`
 * says which to leave ignored and which to block (the state this process
 * was started with, recorded before Node changed it). fds 0-2 are made
 * blocking unless `keepNonblock` (a process that never used
 * process.stdin/stdout/stderr, which are what make them non-blocking, hands
 * them on as it got them).
 */
export function resetExecState(signals: SignalState = { ignored: 0n, blocked: 0n }, keepNonblock = false): void {
  for (const fd of [0, 1, 2]) {
    try {
      setCloexec(fd, false);
      if (!keepNonblock) setNonblock(fd, false);
    } catch {
      // a closed stdio fd stays closed, as the caller asked (chpst -0/-1/-2)
    }
  }
  for (let sig = 1; sig < NSIG; sig++) {
    if (sig === SIGKILL || sig === SIGSTOP) continue;
    signal(sig, (signals.ignored >> BigInt(sig - 1)) & 1n ? SIG_IGN : SIG_DFL);
  }
  const mask = Buffer.alloc(128);
  mask.writeBigUInt64LE(signals.blocked & 0xffffffffffffffffn, 0);
  sigprocmask(SIG_SETMASK, mask, null);
}

export interface ExecOptions {
  /**
   * The PATH to search, `null` when unset (default: the PATH of `env`).
   * runit's chpst searches with its own PATH, not the one it computed.
   */
  searchPath?: string | Buffer | null;
  /** Signal state for the program (default: all default, none blocked). */
  signals?: SignalState;
  /** Leave O_NONBLOCK on fds 0-2 as it is (see resetExecState). */
  keepNonblock?: boolean;
  /**
   * Put `fd` on descriptor `target` for the program (chpst's lock file on
   * the lowest free descriptor). Done just before execve and undone if it
   * fails, so a descriptor of Node's that `target` held comes back.
   */
  placeFd?: { fd: number; target: number };
}

/** A C string: the bytes of `s` and a NUL. */
function cString(s: string | Buffer): Buffer {
  return Buffer.concat([typeof s === 'string' ? Buffer.from(s) : s, Buffer.alloc(1)]);
}

/**
 * execve() `path` with argv and env. A path without a slash is searched in
 * PATH (default `/bin:/usr/bin`) as runit's pathexec does: an empty entry
 * means `.`; the search goes on past ENOENT, EACCES, EPERM and EISDIR and
 * stops at any other error; the error reported is the last one that was not
 * ENOENT. Arguments and `NAME=value` entries may be Buffers, passed byte for
 * byte. Returns only by throwing.
 */
export function execProgram(
  path: string | Buffer,
  argv: readonly (string | Buffer)[],
  env: NodeJS.ProcessEnv | Record<string, string> | readonly (string | Buffer)[],
  options: ExecOptions = {},
): never {
  const envList = Array.isArray(env)
    ? (env as readonly (string | Buffer)[])
    : Object.entries(env as Record<string, string | undefined>)
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([k, v]) => `${k}=${v}`);
  const argvC = [...argv.map(cString), null];
  const envC = [...envList.map(cString), null];
  const name = typeof path === 'string' ? Buffer.from(path) : path;
  let candidates: Buffer[];
  if (name.includes(0x2f)) {
    candidates = [name];
  } else {
    let pathVar = options.searchPath;
    if (pathVar === undefined) pathVar = Array.isArray(env) ? (getEnv(envList, 'PATH') ?? null) : ((env as Record<string, string | undefined>).PATH ?? null);
    candidates = splitPath(pathVar === null ? Buffer.from('/bin:/usr/bin') : Buffer.from(pathVar)).map((dir) =>
      Buffer.concat([dir.length ? dir : Buffer.from('.'), Buffer.from('/'), name]),
    );
  }
  resetExecState(options.signals, options.keepNonblock);
  const undo = options.placeFd && placeFd(options.placeFd.fd, options.placeFd.target);
  let saved = 0;
  for (const candidate of candidates) {
    execve(cString(candidate), argvC, envC);
    const errno = lastErrno();
    if (errno === ENOENT) continue;
    saved = errno;
    if (errno !== EACCES && errno !== EPERM && errno !== EISDIR) break;
  }
  undo?.();
  throw new SysError('execve', saved || ENOENT, name.toString());
}

function splitPath(path: Buffer): Buffer[] {
  const dirs: Buffer[] = [];
  let start = 0;
  for (let i = path.indexOf(0x3a); i >= 0; i = path.indexOf(0x3a, start)) {
    dirs.push(path.subarray(start, i));
    start = i + 1;
  }
  dirs.push(path.subarray(start));
  return dirs;
}

/** dup `fd` onto `target`, inheritable; returns how to put `target` back. */
function placeFd(fd: number, target: number): () => void {
  if (fd === target) {
    setCloexec(fd, false);
    return () => setCloexec(fd, true);
  }
  let saved: number | undefined;
  try {
    saved = dupCloexec(target, 3);
  } catch {
    // `target` is not open: nothing to keep
  }
  dup3(fd, target, false);
  return () => {
    try {
      if (saved === undefined) {
        closeSync(target);
      } else {
        dup3(saved, target, true);
        closeSync(saved);
      }
    } catch {
      // the exec failed already; what is reported is its error
    }
  };
}
