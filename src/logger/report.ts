// How the engine speaks: runit's message classes (svlogd(8)), each
// without the `svlogd: <class>: ` prefix, which the reporter adds. The
// engine keeps no stderr of its own, so a host process can route messages.
import { errorTextOf } from '../sys/errstr.js';

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

/** What the parts of one log directory say: `info` in verbose mode only, failures as `<what>: <dir>: <error>`. */
export class DirMessages {
  constructor(
    readonly reporter: Reporter,
    /** the directory as named on the command line */
    private readonly name: string,
    private readonly verbose: boolean,
  ) {}

  info(text: string): void {
    if (this.verbose) this.reporter.info(text);
  }

  warn(what: string, err: unknown): void {
    this.reporter.warning(`${what}: ${this.name}: ${errorTextOf(err)}`);
  }
}
