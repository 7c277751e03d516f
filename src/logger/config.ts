// A log directory's `config` file (svlogd(8), DESCRIPTION): one instruction per
// line, chosen by the first byte, read as bytes. Pure: warnings go to the
// caller, which prints them as runit does (`unable to scan ip address: ...`).
import { scanUlong } from '../util/scan.js';

/** A `+ - e E` line: the selector byte and the pattern bytes (no NUL). */
export interface Instruction {
  /** '+', '-', 'e' or 'E' */
  kind: number;
  pattern: Buffer;
}

export interface LogDirConfig {
  /** `s`: rotate `current` at this size; 0 = never by size */
  sizeMax: number;
  /** `n`: keep at most this many old files; 0 = never delete */
  nMax: number;
  /** `N`: on a full disk delete old files while more than this remain */
  nMin: number;
  /** `t`: rotate a non-empty `current` after this many seconds; 0 = off */
  tMax: number;
  /** `!`: processor command for `sh -c`, empty = none */
  processor: string;
  /** `u`/`U`: the UDP target (dotted quad and port), when one was accepted */
  udp?: { address: string; port: number };
  /** `U`: selected lines go through UDP only, not into the directory */
  udpOnly: boolean;
  /** `p`: bytes put before every line (directory, stderr and UDP) */
  prefix: Buffer;
  /** `+ - e E` lines, in file order */
  instructions: Instruction[];
}

export function defaultConfig(): LogDirConfig {
  return { sizeMax: 1000000, nMax: 10, nMin: 10, tMax: 0, processor: '', udpOnly: false, prefix: Buffer.alloc(0), instructions: [] };
}

const TWO64 = 1n << 64n;

/** A 64-bit unsigned value as a JS number (exact up to 2^53, large beyond). */
function num(value: bigint): number {
  return Number(value % TWO64);
}

/** djb ip4_scan: four dotted decimal numbers, each taken modulo 256; 0 when malformed. */
export function scanIp4(bytes: Uint8Array, start: number): { address: string; length: number } | undefined {
  const parts: number[] = [];
  let i = start;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (bytes[i] !== 0x2e) return undefined;
      i++;
    }
    const n = scanUlong(bytes, i);
    if (n.length === 0) return undefined;
    parts.push(Number(n.value % 256n));
    i += n.length;
  }
  return { address: parts.join('.'), length: i - start };
}

/** Bytes up to the first NUL, as runit's C strings see them. */
function cString(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

function text(bytes: Buffer): string {
  return cString(bytes).toString('latin1');
}

/**
 * Parse a config file's bytes. `warn` receives runit's warning texts
 * without the `svlogd: warning: ` prefix. Quirks kept from runit: numbers
 * take their leading digits (`s` alone or `s 5` means 0), a last line of
 * one byte without a newline is ignored, a NUL inside a `+ - e E` line
 * starts another instruction there, a bad port after a good address still
 * replaces the address of an earlier `u` line. One deliberate difference
 * (svlogd-bad-udponly): a `U` line that is rejected does not make the
 * directory UDP-only; runit switched it before scanning the address and so
 * dropped every line, sent nowhere.
 */
export function parseConfig(data: Buffer, warn: (message: string) => void): LogDirConfig {
  const config = defaultConfig();
  let i = 0;
  while (i + 1 < data.length) {
    let end = data.indexOf(0x0a, i);
    if (end < 0) end = data.length;
    const line = data.subarray(i, end);
    const rest = line.subarray(1);
    switch (line[0]) {
      case 0x2b: // +
      case 0x2d: // -
      case 0x65: // e
      case 0x45: {
        // E
        // runit stores the line NUL-terminated and walks the list by NULs,
        // so every NUL-separated piece is an instruction of its own
        let start = 0;
        while (start <= line.length) {
          let nul = line.indexOf(0, start);
          if (nul < 0) nul = line.length;
          const kind = line[start];
          if (kind === 0x2b || kind === 0x2d || kind === 0x65 || kind === 0x45) {
            config.instructions.push({ kind, pattern: Buffer.from(line.subarray(start + 1, nul)) });
          }
          start = nul + 1;
        }
        break;
      }
      case 0x73: {
        // s
        const n = scanUlong(line, 1);
        let size = n.value;
        const unit = line[1 + n.length];
        if (unit === 0x6d) size = (size * 1024n * 1024n) % TWO64;
        else if (unit === 0x6b) size = (size * 1024n) % TWO64;
        config.sizeMax = num(size);
        break;
      }
      case 0x6e: // n
        config.nMax = num(scanUlong(line, 1).value);
        break;
      case 0x4e: // N
        config.nMin = num(scanUlong(line, 1).value);
        break;
      case 0x74: {
        // t
        const n = scanUlong(line, 1);
        let secs = n.value;
        const unit = line[1 + n.length];
        if (unit === 0x68) secs = (secs * 3600n) % TWO64;
        else if (unit === 0x6d) secs = (secs * 60n) % TWO64;
        config.tMax = num(secs);
        break;
      }
      case 0x21: // !
        if (line.length > 1) config.processor = text(rest);
        break;
      case 0x55: // U
      case 0x75: {
        // u
        const ip = scanIp4(line, 1);
        if (!ip) {
          warn(`unable to scan ip address: ${text(rest)}`);
          break;
        }
        let port = 514;
        if (line[1 + ip.length] === 0x3a) {
          const p = scanUlong(line, 2 + ip.length);
          if (p.value === 0n) {
            warn(`unable to scan port number: ${text(line.subarray(2 + ip.length))}`);
            // runit has already stored the address; the earlier port stays
            if (config.udp) config.udp = { address: ip.address, port: config.udp.port };
            break;
          }
          // htons() keeps the low 16 bits; port 0 then means "no UDP", as in runit
          port = Number(p.value % 65536n);
        }
        config.udp = port === 0 ? undefined : { address: ip.address, port };
        if (line[0] === 0x55) config.udpOnly = true;
        break;
      }
      case 0x70: // p
        if (line.length > 1) config.prefix = Buffer.from(cString(rest));
        break;
      default:
        // empty lines, comments and anything else are ignored
        break;
    }
    i = end + 1;
  }
  return config;
}
