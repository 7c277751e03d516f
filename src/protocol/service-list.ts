// Which entries of a services directory are services (runsvdir(8)): one
// scan, shared by runsvdir and by `runit-ts status`.
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import { errorTextOf } from '../sys/errstr.js';

export interface FoundService {
  name: string;
  /** `dev:ino` of the service directory: a service is its inode, not its name */
  key: string;
}

/**
 * List `dir`: every entry not starting with `.` whose stat (symlinks
 * followed) is a directory. Unstatable entries are warned about and skipped;
 * other non-directories are ignored silently. Throws when `dir` cannot be read.
 */
export function scanServices(dir: string, warn: (message: string) => void): FoundService[] {
  const found: FoundService[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    let st: BigIntStats;
    try {
      st = statSync(`${dir}/${name}`, { bigint: true });
    } catch (err) {
      warn(`unable to stat ${name}: ${errorTextOf(err)}`);
      continue;
    }
    if (st.isDirectory()) found.push({ name, key: `${st.dev}:${st.ino}` });
  }
  return found;
}
