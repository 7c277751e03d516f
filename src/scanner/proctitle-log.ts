// runsvdir's log argument (runsvdir(8)): the argument's text stays visible
// in `ps`, its first five characters fixed, the rest a window on the most
// recent bytes written to runsvdir's stderr.
import { Socket } from 'node:net';
import { pipe, dup2 } from '../sys/fd.js';
import { setProcessName } from '../sys/process-name.js';

export const MIN_LOG_LENGTH = 7;
const FIXED = 5;
/** every 15 minutes a dot, so that old messages scroll away */
const DOT_INTERVAL_MS = 900_000;

/** The new log text after `bytes` arrive: same length, NUL bytes dropped. */
export function slideLog(log: string, bytes: Buffer): string {
  const window = log.length - FIXED;
  // only the last `window` bytes that are not NUL can stay in view
  let start = bytes.length;
  for (let kept = 0; start > 0 && kept < window; ) if (bytes[--start] !== 0) kept++;
  const text = bytes.toString('latin1', start).replaceAll('\0', '');
  return log.slice(0, FIXED) + (log.slice(FIXED) + text).slice(-window);
}

/**
 * Start the log: fd 2 (runsvdir's, and so every service's) becomes a pipe
 * that this process reads into the title `runsvdir <head> <log>`. Returns
 * the function that shows more bytes, for runsvdir's own messages: they
 * must not go through the pipe, whose only reader is this process.
 * Undefined when `log` is shorter than MIN_LOG_LENGTH (runsvdir then warns).
 */
export function startProcTitleLog(head: string, log: string): ((bytes: Buffer) => void) | undefined {
  if (log.length < MIN_LOG_LENGTH) return undefined;
  const fds = pipe();
  dup2(fds.write, 2);
  let text = log;
  const show = () => {
    process.title = `runsvdir ${head} ${text}`;
    // libuv named the process after the title: it is runsvdir still
    setProcessName('runsvdir');
  };
  show();
  const append = (bytes: Buffer) => {
    text = slideLog(text, bytes);
    show();
  };
  const reader = new Socket({ fd: fds.read, readable: true, writable: false });
  reader.on('data', append);
  setInterval(() => append(Buffer.from('.')), DOT_INTERVAL_MS).unref();
  return append;
}
