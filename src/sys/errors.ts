import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Linux aliases: report the names Node itself uses.
errnoNames.set(constants.errno.EAGAIN, 'EAGAIN');
errnoNames.set(constants.errno.EDEADLK, 'EDEADLK');

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** A failed syscall, shaped like Node's own fs errors. */
export class SysError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;

  constructor(syscall: string, errno: number, path?: string) {
    const code = errnoName(errno);
    super(`${code}: ${syscall}${path === undefined ? '' : ` '${path}'`}`);
    this.name = 'SysError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }
}

/** The errno name of any error thrown by Node or by this layer. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
