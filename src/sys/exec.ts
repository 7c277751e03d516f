// The one path that replaces this process with another program. Node leaves
// state behind that a clean program must not inherit (ARCHITECTURE.md §4).
import { libcFunction, lastErrno } from './libc.js';

const signal = libcFunction('void *signal(int sig, void *handler)');
const sigprocmask = libcFunction('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)');
const execve = libcFunction('int execve(const char *path, const char **argv, const char **envp)');
import { SysError } from './errors.js';
import { setCloexec, setNonblock } from './fd.js';

const SIG_SETMASK = 2;
const NSIG = 65;
const SIGKILL = 9;
const SIGSTOP = 19;

/** Undo what Node did to this process: stdio flags, signal dispositions, mask. */
export function resetExecState(): void {
  for (const fd of [0, 1, 2]) {
    try {
      setCloexec(fd, false);
      setNonblock(fd, false);
    } catch {
      // a closed stdio fd stays closed, as the caller asked (chpst -0/-1/-2)
    }
  }
  for (let sig = 1; sig < NSIG; sig++) {
    if (sig === SIGKILL || sig === SIGSTOP) continue;
    signal(sig, null);
  }
  sigprocmask(SIG_SETMASK, Buffer.alloc(128), null);
}

function cStrings(list: readonly string[]): (string | null)[] {
  return [...list, null];
}

/**
 * execve() `path` (searched in PATH when it has no slash, as execvp does)
 * with argv and env. Returns only by throwing.
 */
export function execProgram(path: string, argv: readonly string[], env: NodeJS.ProcessEnv | Record<string, string>): never {
  const envp = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  resetExecState();
  const candidates = path.includes('/') ? [path] : searchPath(path, env.PATH);
  let firstError = 0;
  for (const candidate of candidates) {
    execve(candidate, cStrings(argv), cStrings(envp));
    const errno = lastErrno();
    // execvp semantics: remember EACCES, keep looking on ENOENT-like errors
    if (firstError === 0 || errno === 13) firstError = errno;
  }
  throw new SysError('execve', firstError || 2, path);
}

function searchPath(file: string, pathVar: string | undefined): string[] {
  return (pathVar ?? '/bin:/usr/bin').split(':').map((dir) => `${dir || '.'}/${file}`);
}
