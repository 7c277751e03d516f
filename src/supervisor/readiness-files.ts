// The optional files of a service directory for readiness and start order
// (docs/readiness.md): notification-fd (s6's), notify-socket, watchdog,
// timeout-ready, needs/. Each has a pure parser (text in, value or the
// reason out) and a reader in the style of settings.ts: absent means off,
// unreadable or malformed means off with one warning, worded as runsv's
// (the caller prefixes `runsv NAME: warning: `).
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { parseUnsignedInteger, readOptional } from './settings.js';

type Warn = (message: string) => void;

/** the soft descriptor limit services usually start with: a higher notification-fd could not be given to `run` */
export const DEFAULT_FD_LIMIT = 1024;

/**
 * `notification-fd` (s6-supervise): the descriptor `run` gets the write end
 * of the readiness pipe on; a number from 3 up to `fdLimit - 1`.
 */
export function parseNotificationFd(text: string, fdLimit = DEFAULT_FD_LIMIT): { fd: number } | { error: string } {
  const fd = parseUnsignedInteger(text);
  if (fd === undefined || fd < 3 || fd >= fdLimit) return { error: `not a descriptor number from 3 to ${fdLimit - 1}` };
  return { fd };
}

export function readNotificationFd(dir: string, warn: Warn, fdLimit = DEFAULT_FD_LIMIT): number | undefined {
  const text = readOptional(dir, 'notification-fd', warn);
  if (text === undefined) return undefined;
  const r = parseNotificationFd(text, fdLimit);
  if ('error' in r) {
    warn(`invalid notification-fd: ${r.error}`);
    return undefined;
  }
  return r.fd;
}

/** What a `notify-socket` file asks for. */
export interface NotifySocketOptions {
  /**
   * `owner=ACCOUNT` (a user name, or `UID:GID`): the account `run` drops to
   * (chpst -u); the socket file is given to it so that the service can
   * still send (only when the supervisor runs as root).
   */
  owner?: string;
}

/**
 * `notify-socket`: empty, or words `KEY=VALUE` separated by blanks or
 * newlines; `#` starts a comment to the end of its line. Unknown words are
 * ignored with a warning (a newer runit-ts may know them).
 */
export function parseNotifySocket(text: string): { options: NotifySocketOptions; warnings: string[] } {
  const options: NotifySocketOptions = {};
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    for (const word of line.replace(/#.*/, '').split(/[ \t\r]+/)) {
      if (!word) continue;
      const eq = word.indexOf('=');
      const key = eq < 0 ? word : word.slice(0, eq);
      const value = eq < 0 ? '' : word.slice(eq + 1);
      if (key === 'owner' && /^([A-Za-z0-9._][A-Za-z0-9._-]*|\d+:\d+)$/.test(value)) options.owner = value;
      else if (key === 'owner') warnings.push(`invalid notify-socket: owner= needs a user name or UID:GID`);
      else warnings.push(`invalid notify-socket: unknown option: ${word}`);
    }
  }
  return { options, warnings };
}

/** `notify-socket`: undefined when absent (no socket for this service). */
export function readNotifySocket(dir: string, warn: Warn): NotifySocketOptions | undefined {
  const text = readOptional(dir, 'notify-socket', warn);
  if (text === undefined) return undefined;
  const { options, warnings } = parseNotifySocket(text);
  for (const w of warnings) warn(w);
  return options;
}

/** the longest interval accepted: about 31 years, well inside a timer's and a Number's range */
const MAX_SECONDS = 999_999_999;

/**
 * Seconds, decimals allowed (`2`, `0.5`, `10.25`), to whole microseconds
 * (digits past the sixth decimal dropped); undefined for anything else.
 */
export function parseSeconds(text: string): number | undefined {
  const m = /^\s*(\d{1,9})(?:\.(\d*))?\s*$/.exec(text) ?? /^\s*()\.(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const whole = Number(m[1] || '0');
  if (whole > MAX_SECONDS) return undefined;
  return whole * 1_000_000 + Number((m[2] ?? '').slice(0, 6).padEnd(6, '0'));
}

/**
 * `watchdog`: the interval, in seconds, within which a ready service must
 * send WATCHDOG=1 (given to `run` as WATCHDOG_USEC). Absent or 0: off.
 */
export function readWatchdog(dir: string, warn: Warn): number | undefined {
  const text = readOptional(dir, 'watchdog', warn);
  if (text === undefined) return undefined;
  const usec = parseSeconds(text);
  if (usec === undefined) warn('invalid watchdog: not a number of seconds');
  return usec || undefined;
}

/** `timeout-ready`: how long a started service may take to become ready, and what then. */
export interface TimeoutReady {
  usec: number;
  /** restart the service when the time is up (else only report it) */
  restart: boolean;
}

/** `timeout-ready`: `SECONDS` or `SECONDS restart`. */
export function parseTimeoutReady(text: string): TimeoutReady | { error: string } {
  const words = text.trim().split(/\s+/);
  const usec = parseSeconds(words[0] ?? '');
  if (usec === undefined) return { error: 'not a number of seconds' };
  if (words.length > 2 || (words[1] !== undefined && words[1] !== 'restart')) return { error: 'only "restart" may follow the seconds' };
  return { usec, restart: words[1] === 'restart' };
}

/** `timeout-ready`: absent or 0 seconds: wait as long as it takes. */
export function readTimeoutReady(dir: string, warn: Warn): TimeoutReady | undefined {
  const text = readOptional(dir, 'timeout-ready', warn);
  if (text === undefined) return undefined;
  const r = parseTimeoutReady(text);
  if ('error' in r) {
    warn(`invalid timeout-ready: ${r.error}`);
    return undefined;
  }
  return r.usec ? r : undefined;
}

/** One entry of `needs/`. */
export interface Need {
  /** the entry's name: the needed service's name */
  name: string;
  /**
   * the needed service's directory: for a symlink its target (real path),
   * for any other entry the sibling `../NAME` of the service directory
   * (real path when it exists)
   */
  dir: string;
  /** whether the entry is a symlink */
  link: boolean;
  /** whether `dir` exists (a sibling may be added later; the scanner reports it missing meanwhile) */
  exists: boolean;
}

/**
 * `needs/`: one entry per needed service, sorted by name. A symlink names
 * the needed service directory wherever it is; any other entry (an empty
 * file will do, as s6-rc's dependencies.d/) names a sibling service in the
 * directory holding this one. Entries starting with a dot are skipped. A
 * dangling symlink, or one to something that is not a directory, is
 * ignored with a warning. No `needs/`: no needs.
 */
export function readNeeds(serviceDir: string, warn: Warn): Need[] {
  const needsDir = `${serviceDir}/needs`;
  let names: string[];
  try {
    names = readdirSync(needsDir);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTDIR') warn('invalid needs: not a directory');
    else if (code !== 'ENOENT') warn(`unable to read needs: ${errorTextOf(err)}`);
    return [];
  }
  const needs: Need[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const entry = `${needsDir}/${name}`;
    let link: boolean;
    try {
      link = lstatSync(entry).isSymbolicLink();
    } catch (err) {
      warn(`unable to read needs/${name}: ${errorTextOf(err)}`);
      continue;
    }
    if (link) {
      let target: string;
      try {
        target = resolve(needsDir, readlinkSync(entry));
        if (!statSync(entry).isDirectory()) {
          warn(`invalid needs/${name}: not a service directory: ${target}`);
          continue;
        }
      } catch (err) {
        warn(`invalid needs/${name}: unable to reach ${errorCode(err) === 'ENOENT' ? 'its target' : 'it'}: ${errorTextOf(err)}`);
        continue;
      }
      needs.push({ name, dir: realOr(target), link: true, exists: true });
    } else {
      const sibling = `${dirname(resolve(serviceDir))}/${name}`;
      const dir = realOr(sibling);
      needs.push({ name, dir, link: false, exists: existsDir(dir) });
    }
  }
  return needs;
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
