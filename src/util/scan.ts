// Unsigned decimal numbers as runit's programs read them (djb scan_ulong).
// src/util/ holds pure functions that every layer may import; a module here
// imports nothing but Node's built-ins (and other src/util/ modules), keeps
// no state and does no I/O.

const TWO64 = 1n << 64n;

/** The number of ASCII decimal digits in `text` from `start` on. */
function digitsAt(text: string | Uint8Array, start: number): number {
  let i = start;
  if (typeof text === 'string') {
    while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  } else {
    while (i < text.length && text[i]! >= 0x30 && text[i]! <= 0x39) i++;
  }
  return i - start;
}

function digitText(text: string | Uint8Array, start: number, length: number): string {
  return typeof text === 'string' ? text.slice(start, start + length) : Buffer.from(text.buffer, text.byteOffset + start, length).toString('latin1');
}

/**
 * The leading decimal digits of `text` (a string, or bytes) from `start`:
 * their exact value (0 when there is none) and how many there are. Any
 * other character, `+` and `-` included, ends the number.
 */
export function scanDigits(text: string | Uint8Array, start = 0): { value: bigint; length: number } {
  const length = digitsAt(text, start);
  return { value: length === 0 ? 0n : BigInt(digitText(text, start, length)), length };
}

/**
 * djb scan_ulong: the leading decimal digits from `start` (0 when there is
 * none) as a C unsigned long, which wraps around modulo 2^64, and how many
 * digits were read.
 */
export function scanUlong(text: string | Uint8Array, start = 0): { value: bigint; length: number } {
  const scanned = scanDigits(text, start);
  return { value: scanned.value % TWO64, length: scanned.length };
}

/**
 * A whole string of decimal digits, exact (no wrap-around); the empty string
 * is 0, as scan_ulong over it gives. Undefined when any other character is
 * in it.
 */
export function parseUnsigned(text: string): bigint | undefined {
  const { value, length } = scanDigits(text);
  return length === text.length ? value : undefined;
}
