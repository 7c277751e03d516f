// One typed description of a service, from which a service directory is
// written (servicedir/write.ts): what `runit-ts add` builds from its
// options and what every importer (import/) makes of a foreign
// configuration. Each field maps to a file of the service directory or a
// line of its `run`; nothing here is runit-ts-only unless a comment says so.

/** chpst's resource limits (`chpst -m -o -p -f -c -d -r -t`, chpst(8)). */
export interface Limits {
  /** -m: data, stack, locked memory and address space, bytes */
  memory?: number;
  /** -o: open files */
  nofile?: number;
  /** -p: processes */
  nproc?: number;
  /** -f: file size, bytes */
  fsize?: number;
  /** -c: core size, bytes */
  core?: number;
  /** -d: data segment, bytes */
  data?: number;
  /** -r: resident set, bytes */
  rss?: number;
  /** -t: CPU seconds */
  cpu?: number;
}

/** A setting of the source that has no runit-ts equivalent: kept, as a comment, never dropped silently. */
export interface NotMapped {
  /** the key as the source names it (`max_memory_restart`, `ExecReload`, ...) */
  key: string;
  value?: string;
  reason: string;
}

export interface ServiceSpec {
  /** the service directory's name: letters, digits, `.`, `_`, `-`, `@`, `+`, not starting with `.` */
  name: string;
  /**
   * What runs: argv (quoted for sh when written), or a shell command line
   * (a Procfile's, a supervisord `command` with shell syntax) run by
   * `exec sh -c`. Exactly one.
   */
  command: { argv: string[] } | { shell: string };
  /** `cd` to it before exec (the default is the service directory) */
  cwd?: string;
  /** chpst -u USER[:GROUP] */
  user?: string;
  group?: string;
  /** written to the envdir `env/` and read with chpst -e */
  env?: Record<string, string>;
  limits?: Limits;
  /** chpst -n (added to the nice value) */
  nice?: number;
  /** umask before exec, octal text */
  umask?: string;
  /** shell commands run in `run` before the exec, each must succeed (systemd ExecStartPre) */
  before?: string[];
  /** `./finish`'s commands (systemd ExecStopPost, ...), run as the service's user in its cwd */
  finish?: string[];
  /**
   * Shell lines `./finish` runs last (after `finish`), back in the service
   * directory as the supervisor's user, with ./finish's arguments ($1: the exit code or -1,
   * $2: the signal or 0): restart conditions, e.g. `case "$1" in 0)
   * printf d > supervise/control; exit 125;; esac` (an importer's, for a
   * source that restarts only on some exits).
   */
  finishGuards?: string[];
  /** a `down` file: not started until `sv up` */
  down?: boolean;
  /**
   * The log service: `log/run` is `exec svlogd -tt DIR` (hosted in-process
   * by runit-ts's runsvdir), DIR `./main` unless given, with the config
   * lines given (`s1000000`, `n10`, ...). false: no log service (output goes
   * to runsvdir's).
   */
  log?: false | { dir?: string; config?: string[] };
  /** readiness (docs/readiness.md): s6's notification-fd, or an sd_notify socket */
  readiness?: { notificationFd?: number; notifySocket?: { owner?: string }; watchdogSeconds?: number };
  /** needs/: services started before this one */
  needs?: string[];
  /** restart policy and stop escalation (s6's names where s6 has the knob) */
  policy?: {
    /** backoff FIRST CAP, seconds */
    backoff?: { first: number; cap: number };
    /** give up after N deaths in T seconds */
    giveUp?: { deaths: number; seconds: number };
    /** the signal `sv down` sends (s6 down-signal), a name such as SIGINT */
    downSignal?: string;
    /** ms until a stop escalates to SIGKILL (s6 timeout-kill) */
    timeoutKillMs?: number;
    /** ms a ./finish may run (s6 timeout-finish) */
    timeoutFinishMs?: number;
  };
  /** mapped with a caveat: one comment line each in `run` */
  notes?: string[];
  notMapped?: NotMapped[];
  /** where it came from, for the comment at the top of `run` (`Procfile:3`, `pm2 app "api"`) */
  source?: string;
}

/** Why `name` cannot name a service directory, or undefined. */
export function invalidServiceName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name.startsWith('.')) return 'a name starting with a dot (runsvdir ignores it)';
  if (!/^[A-Za-z0-9._@+-]+$/.test(name)) return 'only letters, digits and . _ @ + - are allowed';
  if (name.length > 200) return 'a name longer than 200 bytes';
  return undefined;
}
