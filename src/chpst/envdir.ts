// Reading an environment directory (chpst(8), -e; envdir(8)), as runit does it:
// switch into the directory, read each entry whose name does not start with
// a dot, switch back to the starting directory. Names and values are bytes.
import { openSync, readSync, closeSync, opendirSync, constants, type Dir, type Dirent } from 'node:fs';
import { fchdir } from '../sys/process.js';
import { errorTextOf } from '../sys/errstr.js';
import { envFileValue } from './environment.js';

export class EnvDirError extends Error {}

export interface EnvDirEntry {
  name: Buffer;
  /** undefined: remove the variable */
  value: Buffer | undefined;
}

function fail(text: string, err: unknown): never {
  throw new EnvDirError(`${text}: ${errorTextOf(err)}`);
}

/** The whole content of a file opened like runit's open_read (O_NONBLOCK: a FIFO never blocks). */
function readWhole(name: Buffer): Buffer | 'missing' {
  let fd: number;
  try {
    fd = openSync(name, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    // a dangling symbolic link, or an entry removed meanwhile
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(4096);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/**
 * The variables that `dir` sets and removes, in directory order. A
 * subdirectory is skipped when `skipSubdirs` (chpst -e; `warn` is told)
 * and fatal otherwise (envdir). An entry that vanishes or is a dangling
 * symbolic link removes its variable. Throws EnvDirError with runit's text.
 */
export function readEnvDir(dir: string, options: { skipSubdirs: boolean; warn?: (text: string) => void }): EnvDirEntry[] {
  let start: number;
  try {
    start = openSync('.', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    fail('unable to open current working directory', err);
  }
  try {
    try {
      process.chdir(dir);
    } catch (err) {
      fail(`unable to switch to directory: ${dir}`, err);
    }
    let handle: Dir;
    try {
      handle = opendirSync('.', { encoding: 'buffer' as BufferEncoding, bufferSize: 128 });
    } catch (err) {
      fail(`unable to open directory: ${dir}`, err);
    }
    const entries: EnvDirEntry[] = [];
    try {
      for (;;) {
        let entry: Dirent | null;
        try {
          entry = handle.readSync();
        } catch (err) {
          fail(`unable to read directory: ${dir}`, err);
        }
        if (!entry) break;
        const name = entry.name as unknown as Buffer;
        if (name[0] === 0x2e) continue;
        // `A=B` would set A (to `B=value`, or to `B` when the file is
        // empty), and a newline fakes a second entry in `env` output: no
        // file may set a variable other than the one it names.
        if (name.includes(0x3d) || name.includes(0x0a)) {
          const text = `unable to read ${dir}/${name.toString()}: invalid variable name`;
          if (!options.skipSubdirs) throw new EnvDirError(text);
          options.warn?.(text);
          continue;
        }
        let content: Buffer | 'missing';
        try {
          content = readWhole(name);
        } catch (err) {
          const text = `unable to read ${dir}/${name.toString()}`;
          if ((err as NodeJS.ErrnoException).code === 'EISDIR' && options.skipSubdirs) {
            options.warn?.(`${text}: ${errorTextOf(err)}`);
            continue;
          }
          fail(text, err);
        }
        entries.push({ name, value: content === 'missing' ? undefined : envFileValue(content) });
      }
    } finally {
      handle.closeSync();
    }
    try {
      fchdir(start);
    } catch (err) {
      fail('unable to switch to starting directory', err);
    }
    return entries;
  } finally {
    closeSync(start);
  }
}
