// runsvdir's log argument (reference §4.2): the argument's text stays visible
// in `ps`, its first five characters fixed, the rest a window on the most
// recent bytes written to runsvdir's stderr.

export const MIN_LOG_LENGTH = 7;
const FIXED = 5;

/** The new log text after `bytes` arrive: same length, NUL bytes dropped. */
export function slideLog(log: string, bytes: Buffer): string {
  const text = bytes.toString('latin1').replaceAll('\0', '');
  const window = log.length - FIXED;
  return log.slice(0, FIXED) + (log.slice(FIXED) + text).slice(-window);
}
