// How the engine speaks: runit's message classes (reference §6.9), each
// without the `svlogd: <class>: ` prefix, which the reporter adds. The
// engine keeps no stderr of its own, so a host process can route messages.

export interface Reporter {
  /** `svlogd: info: ...`; called only in verbose mode */
  info(text: string): void;
  /** `svlogd: warning: ...` */
  warning(text: string): void;
  /** `svlogd: pausing: ...` (a retry follows in 3 seconds) */
  pausing(text: string): void;
  /** `svlogd: fatal: ...` (the logger then ends with code 111) */
  fatal(text: string): void;
  /** lines selected for standard error (`e`), raw bytes, each ending in `\n` */
  alert(data: Buffer): void;
}

/** A reporter writing runit's lines through `write` (e.g. to fd 2). */
export function textReporter(write: (data: string | Buffer) => void, name = 'svlogd'): Reporter {
  return {
    info: (text) => write(`${name}: info: ${text}\n`),
    warning: (text) => write(`${name}: warning: ${text}\n`),
    pausing: (text) => write(`${name}: pausing: ${text}\n`),
    fatal: (text) => write(`${name}: fatal: ${text}\n`),
    alert: (data) => write(data),
  };
}
