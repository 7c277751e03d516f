// Signals by name and by number, as the service files (down-signal) and
// supervise/deaths write them.
import { constants } from 'node:os';

const BY_NAME = constants.signals as Readonly<Record<string, number>>;
const BY_NUMBER = new Map(Object.entries(BY_NAME).map(([name, number]) => [number, name]));

/** SIGKILL for 9; `SIG37` for a number without a name. */
export function signalName(signal: number): string {
  return BY_NUMBER.get(signal) ?? `SIG${signal}`;
}

/** A signal as `QUIT`, `sigquit`, `SIGQUIT`, `3` or `SIG3`; undefined for anything else. */
export function signalNumber(text: string): number | undefined {
  const t = text.trim().toUpperCase();
  const name = t.startsWith('SIG') ? t : `SIG${t}`;
  const known = BY_NAME[name];
  if (known !== undefined) return known;
  const m = /^(?:SIG)?(\d{1,2})$/.exec(t);
  const n = m ? Number(m[1]) : 0;
  return n >= 1 && n <= 64 ? n : undefined;
}
