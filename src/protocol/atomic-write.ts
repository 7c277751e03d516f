import { openSync, writeSync, closeSync, renameSync, unlinkSync, constants } from 'node:fs';

/** Which step of an atomic update failed, for runit's warning texts. */
export class AtomicWriteError extends Error {
  constructor(
    readonly step: 'open' | 'write' | 'partial' | 'rename',
    readonly reason: unknown,
  ) {
    super(step);
  }
}

/** Write `path.new` (mode 0644) and rename it over `path`. */
export function writeAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.new`;
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  } catch (err) {
    throw new AtomicWriteError('open', err);
  }
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const written = writeSync(fd, bytes);
    if (written !== bytes.length) throw new AtomicWriteError('partial', undefined);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw err instanceof AtomicWriteError ? err : new AtomicWriteError('write', err);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    throw new AtomicWriteError('rename', err);
  }
}
