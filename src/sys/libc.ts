// The only module that loads koffi. Loaded on first use so that commands
// which never make a raw syscall (sv) do not pay for it at start-up.
import { createRequire } from 'node:module';

type KoffiFn = (...args: unknown[]) => any;
interface Koffi {
  load(name: string): { func(decl: string): KoffiFn };
  errno(): number;
}

const declarations = {
  pipe2: 'int pipe2(_Out_ int *fds, int flags)',
  mkfifo: 'int mkfifo(const char *path, uint32_t mode)',
  flock: 'int flock(int fd, int op)',
  fcntl: 'int fcntl(int fd, int cmd, long arg)',
  execve: 'int execve(const char *path, const char **argv, const char **envp)',
  execvp: 'int execvp(const char *file, const char **argv)',
  signal: 'void *signal(int sig, void *handler)',
  sigprocmask: 'int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)',
  setsid: 'int setsid(void)',
  setpgid: 'int setpgid(int pid, int pgid)',
  getrlimit: 'int getrlimit(int resource, _Out_ uint64_t *rlim)',
  setrlimit: 'int setrlimit(int resource, const uint64_t *rlim)',
  dup2: 'int dup2(int oldfd, int newfd)',
  close: 'int close(int fd)',
} as const;

type Name = keyof typeof declarations;

let koffi: Koffi | undefined;
let lib: { func(decl: string): KoffiFn } | undefined;
const bound = new Map<Name, KoffiFn>();

function load(): void {
  if (lib) return;
  const require = createRequire(import.meta.url);
  koffi = require('koffi') as Koffi;
  lib = koffi.load('libc.so.6');
}

export function libc(name: Name): KoffiFn {
  let fn = bound.get(name);
  if (!fn) {
    load();
    fn = lib!.func(declarations[name]);
    bound.set(name, fn);
  }
  return fn;
}

export function lastErrno(): number {
  return koffi!.errno();
}
