// What a path allows, asked before acting on it: whether it may be executed
// (or, for a directory, searched) before a program is started where the
// exec itself would report too late or through a shell; whether it exists;
// whether it can be opened for reading. Node's fs only: no koffi, so sv may
// use it.
import { accessSync, statSync, openSync, closeSync, constants } from 'node:fs';
import { resolve } from 'node:path';

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

/** stat(path) succeeds: it exists (a symbolic link to nothing does not). */
export function pathExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * open(path, O_RDONLY | O_NONBLOCK) succeeds, as runit's open_read: the
 * file exists and may be read (a FIFO without a writer does not block).
 */
export function canOpenForReading(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** `file` as execvp(3) finds it: with a slash as it is, else the first executable along `path` (PATH's syntax); undefined when none. */
export function findProgram(file: string, path: string | undefined, cwd: string): string | undefined {
  if (file.includes('/')) return file;
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const candidate = resolve(cwd, dir || '.', file);
    if (executeAccess(candidate)) return candidate;
  }
  return undefined;
}
