// systemd's sd_notify protocol, the datagram side: what one datagram on a
// service's notify socket asks for, as a list of effects for the state
// machine to apply. Pure: no I/O, no clock. Follows what systemd's manager
// does with a datagram (manager.c, service.c), as far as it applies here:
//  - larger than 4096 bytes (NOTIFY_BUFFER_MAX, PIPE_BUF): ignored whole;
//  - a NUL byte anywhere but at the very end: ignored whole;
//  - no sender credentials: ignored whole;
//  - lines split at "\n" and "\r", empty lines skipped, `KEY=VALUE` each;
//    unknown keys ignored silently (FDSTORE=, BARRIER=, NOTIFYACCESS=, ...);
//  - the state: STOPPING=1 wins over READY=1, which wins over RELOADING=1;
//    only the exact value 1 counts (`READY=yes` is ignored, as in systemd);
//  - a key given twice: its first occurrence counts (strv_find_startswith);
//  - a value that does not parse (ERRNO=abc, MAINPID=0, STATUS= that is not
//    UTF-8) is ignored with a warning; the rest of the datagram still counts.
// Effects come in the order systemd applies them: main pid, state, status,
// errno, exit status, timeout extension, watchdog ping or trigger, watchdog
// interval.

/** the largest datagram accepted, as systemd's NOTIFY_BUFFER_MAX */
export const NOTIFY_MAX_DATAGRAM = 4096;

export type NotifyEffect =
  /** MAINPID=: the service says its main process is this one (recorded in supervise/readiness, not followed) */
  | { kind: 'main-pid'; pid: number }
  /** READY=1: the service is ready (again, after RELOADING=1) */
  | { kind: 'ready' }
  /** RELOADING=1: not ready until the next READY=1 */
  | { kind: 'reloading' }
  /** STOPPING=1: the service is shutting down on its own */
  | { kind: 'stopping' }
  /** STATUS=: free text for status displays (may be empty: cleared) */
  | { kind: 'status'; text: string }
  /** ERRNO=: the errno the service failed with */
  | { kind: 'errno'; errno: number }
  /** EXIT_STATUS=: the exit status the service means to exit with */
  | { kind: 'exit-status'; status: number }
  /** EXTEND_TIMEOUT_USEC=: the current start/stop timeout ends no earlier than this from now */
  | { kind: 'extend-timeout'; usec: number }
  /** WATCHDOG=1: a keep-alive ping */
  | { kind: 'watchdog-ping' }
  /** WATCHDOG=trigger: act as if the watchdog had expired */
  | { kind: 'watchdog-trigger' }
  /** WATCHDOG_USEC=: a new watchdog interval (0: off) */
  | { kind: 'watchdog-usec'; usec: number };

export type NotifyEffectKind = NotifyEffect['kind'];

/** What parseNotifyDatagram made of one datagram. */
export type NotifyParse =
  /** taken; `warnings` name the fields that were ignored */
  | { accepted: true; effects: NotifyEffect[]; warnings: string[] }
  /** ignored whole, for `reason` */
  | { accepted: false; reason: string };

/** The fields of a received datagram parseNotifyDatagram looks at (sys/unix-dgram.ts Datagram fits). */
export interface NotifyDatagram {
  data: Uint8Array;
  size: number;
  truncated: boolean;
  sender?: { pid: number; uid: number; gid: number };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One datagram from a notify socket. Never throws. */
export function parseNotifyDatagram(datagram: NotifyDatagram, maxSize = NOTIFY_MAX_DATAGRAM): NotifyParse {
  if (datagram.truncated || datagram.size > maxSize || datagram.data.length > maxSize) {
    return { accepted: false, reason: `datagram of ${datagram.size} bytes: larger than ${maxSize}` };
  }
  if (!datagram.sender) return { accepted: false, reason: 'datagram without sender credentials' };
  let bytes = datagram.data;
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, bytes.length - 1);
  if (bytes.includes(0)) return { accepted: false, reason: 'datagram with NUL bytes' };
  return parseNotifyText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
}

function firstValues(data: Buffer): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i < data.length && data[i] !== 0x0a && data[i] !== 0x0d) continue;
    const line = data.subarray(start, i);
    start = i + 1;
    const eq = line.indexOf(0x3d);
    if (eq <= 0) continue; // no key: ignored, as an unknown one
    const key = line.subarray(0, eq).toString('latin1');
    if (!values.has(key)) values.set(key, line.subarray(eq + 1));
  }
  return values;
}

const DECIMAL = /^[0-9]{1,16}$/;

/** A decimal integer in [min, max], or undefined. */
function decimal(value: Buffer, min: number, max: number): number | undefined {
  const text = value.toString('latin1');
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

function parseNotifyText(data: Buffer): NotifyParse {
  const values = firstValues(data);
  const effects: NotifyEffect[] = [];
  const warnings: string[] = [];
  const has = (key: string, value: string): boolean => values.get(key)?.toString('latin1') === value;
  const number = (key: string, min: number, max: number, make: (n: number) => NotifyEffect): void => {
    const raw = values.get(key);
    if (raw === undefined) return;
    const n = decimal(raw, min, max);
    if (n === undefined) warnings.push(`invalid ${key}=${printable(raw)}: ignored`);
    else effects.push(make(n));
  };
  number('MAINPID', 1, 0x7fffffff, (pid) => ({ kind: 'main-pid', pid }));
  if (has('STOPPING', '1')) effects.push({ kind: 'stopping' });
  else if (has('READY', '1')) effects.push({ kind: 'ready' });
  else if (has('RELOADING', '1')) effects.push({ kind: 'reloading' });
  const status = values.get('STATUS');
  if (status !== undefined) {
    try {
      effects.push({ kind: 'status', text: utf8.decode(status) });
    } catch {
      warnings.push('invalid STATUS=: not UTF-8: ignored');
    }
  }
  number('ERRNO', 0, 0x7fffffff, (errno) => ({ kind: 'errno', errno }));
  number('EXIT_STATUS', 0, 255, (status) => ({ kind: 'exit-status', status }));
  number('EXTEND_TIMEOUT_USEC', 0, Number.MAX_SAFE_INTEGER, (usec) => ({ kind: 'extend-timeout', usec }));
  if (has('WATCHDOG', '1')) effects.push({ kind: 'watchdog-ping' });
  else if (has('WATCHDOG', 'trigger')) effects.push({ kind: 'watchdog-trigger' });
  number('WATCHDOG_USEC', 0, Number.MAX_SAFE_INTEGER, (usec) => ({ kind: 'watchdog-usec', usec }));
  return { accepted: true, effects, warnings };
}

/** A value for a message: printable ASCII kept, anything else as \xNN, at most 40 bytes. */
function printable(value: Buffer): string {
  let out = '';
  for (const b of value.subarray(0, 40)) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return value.length > 40 ? `${out}...` : out;
}
