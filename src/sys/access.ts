// Whether a path may be executed (or, for a directory, searched), asked
// before a program is started where the exec itself would report too late
// or through a shell. Node's fs only: no koffi, so sv may use it.
import { accessSync, statSync, constants } from 'node:fs';

/**
 * access(path, X_OK): execute permission on a file, search permission on a
 * directory. Throws Node's error (code EACCES, ENOENT, ENOTDIR, ...) when
 * it is not granted.
 */
export function checkExecuteAccess(path: string): void {
  accessSync(path, constants.X_OK);
}

/** access(path, X_OK) as a yes or no. */
export function executeAccess(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why execve(path) would fail before reading the file, as an errno name:
 * no such file, no execute permission (EACCES, ENOENT, ...), or not a
 * regular file (EACCES, as execve says for a directory). Undefined when
 * it may be executed.
 */
export function execAccessError(path: string): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile() ? undefined : 'EACCES';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
}
