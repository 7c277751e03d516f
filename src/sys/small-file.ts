// Reading the short files of /proc and cgroupfs (stat, children,
// cgroup.events) that a supervisor reads after every exit and a scrape a
// thousand at a time: one read through one reused buffer, where
// readFileSync's fstat and allocation per file cost more than the read.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const small = Buffer.allocUnsafe(4096);

/** The file's text (latin1); a longer one (a process with hundreds of children) whole too. Throws as open does. */
export function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, small, 0, small.length, null);
    if (n === small.length) return small.toString('latin1') + readFileSync(fd, 'latin1');
    return small.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}
