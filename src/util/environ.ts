// Environments as lists of `NAME=value` entries (strings or bytes), the
// form execve(2) takes and /proc/PID/environ holds.
// src/util/ holds pure functions that every layer may import; a module here
// imports nothing but Node's built-ins (and other src/util/ modules), keeps
// no state and does no I/O.

/** The value of the first entry named `name`, as getenv() finds it; undefined when there is none. */
export function getEnv(entries: readonly (string | Buffer)[], name: string): Buffer | undefined {
  const prefix = Buffer.from(`${name}=`);
  for (const entry of entries) {
    const bytes = typeof entry === 'string' ? Buffer.from(entry) : entry;
    if (bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) return bytes.subarray(prefix.length);
  }
  return undefined;
}
