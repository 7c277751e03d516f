// runit's TAI: 2^62 + 10 + unix seconds (no leap-second table), nanoseconds
// from a microsecond wall clock as usec * 1000 + 500.

export interface Tai64n {
  /** TAI seconds, 2^62 + 10 + unix seconds */
  sec: bigint;
  nsec: number;
}

export const TAI_OFFSET = (1n << 62n) + 10n;

/** Wall-clock microseconds since the epoch. */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export function taiFromMicros(micros: number): Tai64n {
  const unix = Math.floor(micros / 1e6);
  return { sec: TAI_OFFSET + BigInt(unix), nsec: (micros - unix * 1e6) * 1000 + 500 };
}

export function taiNow(): Tai64n {
  return taiFromMicros(nowMicros());
}

export function unixSeconds(t: Tai64n): number {
  return Number(t.sec - TAI_OFFSET);
}

/** The 25-character external label: `@` + 16 + 8 lowercase hex digits. */
export function taiLabel(t: Tai64n): string {
  return `@${t.sec.toString(16).padStart(16, '0')}${t.nsec.toString(16).padStart(8, '0')}`;
}

/** Inverse of taiLabel; undefined for anything else. */
export function parseTaiLabel(label: string): Tai64n | undefined {
  if (!/^@[0-9a-f]{24}$/.test(label)) return undefined;
  return { sec: BigInt(`0x${label.slice(1, 17)}`), nsec: parseInt(label.slice(17), 16) };
}
