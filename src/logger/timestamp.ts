// Line timestamps (svlogd(8)): -t TAI64N `@<24 hex> `, -tt
// `YYYY-MM-DD_HH:MM:SS.fffff ` (UTC, 10 µs, truncated), -ttt the same with
// `T`. Each is 26 bytes with its trailing space. Pure; the calendar part is
// cached per second, so a stamp costs a few digit writes.
import { taiFromMicros, taiLabel } from '../protocol/tai64n.js';

export type StampMode = 0 | 1 | 2 | 3;

export const STAMP_LENGTH = 26;

function put2(buf: Buffer, at: number, n: number): void {
  buf[at] = 0x30 + ((n / 10) | 0);
  buf[at + 1] = 0x30 + (n % 10);
}

/** Formats stamps for one mode, reusing the calendar part within a second. */
export class StampFormatter {
  readonly mode: StampMode;
  private second = NaN;
  private readonly buf = Buffer.alloc(STAMP_LENGTH);

  constructor(mode: StampMode) {
    this.mode = mode;
  }

  /**
   * The stamp for wall-clock microseconds `micros`, in a fresh 26-byte
   * Buffer (callers may keep it), or an empty Buffer in mode 0.
   */
  format(micros: number): Buffer {
    if (this.mode === 0) return Buffer.alloc(0);
    if (this.mode === 1) return Buffer.from(`${taiLabel(taiFromMicros(micros))} `, 'latin1');
    const second = Math.floor(micros / 1e6);
    const buf = this.buf;
    if (second !== this.second) {
      this.second = second;
      const d = new Date(second * 1000);
      const year = d.getUTCFullYear();
      // runit prints the year with fmt_ulong; four digits until 9999
      buf.write(String(year).padStart(4, '0').slice(-4), 0, 'latin1');
      buf[4] = 0x2d;
      put2(buf, 5, d.getUTCMonth() + 1);
      buf[7] = 0x2d;
      put2(buf, 8, d.getUTCDate());
      buf[10] = this.mode === 3 ? 0x54 : 0x5f;
      put2(buf, 11, d.getUTCHours());
      buf[13] = 0x3a;
      put2(buf, 14, d.getUTCMinutes());
      buf[16] = 0x3a;
      put2(buf, 17, d.getUTCSeconds());
      buf[19] = 0x2e;
      buf[25] = 0x20;
    }
    // runit's nanoseconds are usec * 1000 + 500; the first five of nine digits
    let frac = Math.floor((micros - second * 1e6) / 10);
    for (let i = 24; i >= 20; i--) {
      buf[i] = 0x30 + (frac % 10);
      frac = (frac / 10) | 0;
    }
    return Buffer.from(buf);
  }
}
