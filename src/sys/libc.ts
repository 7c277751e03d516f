// The only module that loads koffi. Loaded on first use so that commands
// which never make a raw syscall (sv) do not pay for it at start-up. Also
// the one check of a call's result (checkSyscall, checkReturned).
import { createRequire } from 'node:module';
import { SysError } from './errors.js';
import { loadKoffiNative } from './koffi-native.js';

// koffi's own typings are loose; keep the surface we use explicit.
// biome-ignore lint/suspicious/noExplicitAny: koffi calls take and return any C type
export type KoffiFn = (...args: any[]) => any;
export interface Koffi {
  load(name: string): { func(decl: string): KoffiFn };
  errno(): number;
  // biome-ignore lint/suspicious/noExplicitAny: koffi's exports are untyped
  [key: string]: any;
}

let koffi: Koffi | undefined;
let lib: { func(decl: string): KoffiFn } | undefined;

/** koffi itself, for modules of this layer that define structs. */
export function koffiModule(): Koffi {
  if (!koffi) {
    // its binary straight from the file recorded at build time, else through koffi's loader
    koffi = (loadKoffiNative() ?? createRequire(import.meta.url)('koffi')) as Koffi;
  }
  return koffi;
}

/** A bound libc function; `.async(...args, callback)` runs it in libuv's thread pool. */
export type LibcFn = KoffiFn & { async: (...args: unknown[]) => void };

/**
 * A libc function from its C declaration, bound on first call:
 * `const setsid = libcFunction('int setsid(void)')`.
 */
export function libcFunction(decl: string): LibcFn {
  let fn: KoffiFn | undefined;
  const bind = (): KoffiFn => {
    if (!fn) {
      lib ??= koffiModule().load('libc.so.6');
      fn = lib.func(decl);
    }
    return fn;
  };
  const call = ((...args: unknown[]) => bind()(...args)) as LibcFn;
  call.async = (...args: unknown[]) => (bind() as unknown as LibcFn).async(...args);
  return call;
}

export function lastErrno(): number {
  return koffiModule().errno();
}

/**
 * A libc call's result, checked the C way: a negative result is a failure
 * described by errno, thrown as a SysError (code, errno, syscall, path).
 */
export function checkSyscall(result: number, syscall: string, path?: string): number {
  if (result < 0) throw new SysError(syscall, lastErrno(), path);
  return result;
}

/**
 * The result of a call that returns its error number instead of setting
 * errno (posix_spawn, getpwnam_r): anything but 0 is thrown as a SysError.
 */
export function checkReturned(result: number, call: string, path?: string): void {
  if (result !== 0) throw new SysError(call, result, path);
}
