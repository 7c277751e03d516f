// koffi's native module, loaded straight from its file. `require('koffi')`
// costs 10-20 ms before the binary is even opened: resolving the package
// through its "exports" map (which starts Node's ES module resolver), then
// koffi's loader, which resolves its platform package and reads the ELF
// header of the node binary to choose between its glibc and musl builds;
// opening the binary itself takes 3-5 ms. `npm run build` records which
// file koffi loads on this machine and koffi's version in
// dist/koffi-native.json (scripts/bundle.js), path relative to dist/; this
// module opens that file, and only if it holds the same version of koffi.
// Anything else (no record, no file, another version) returns undefined,
// and libc.ts loads koffi the usual way.
//
// The binary's exports are koffi's API (koffi's index only re-exports them,
// adding deprecated aliases that runit-ts does not use).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** koffi's binary as recorded at build time, or undefined. */
export function loadKoffiNative(): unknown {
  try {
    // this module is in dist/sys/, or bundled into dist/cli/: one level
    // below dist/ (import.meta.dirname: Node 20.11 and later)
    const dist = join(import.meta.dirname ?? dirname(fileURLToPath(import.meta.url)), '..');
    const record = JSON.parse(readFileSync(join(dist, 'koffi-native.json'), 'utf8')) as { path?: unknown; version?: unknown };
    if (typeof record.path !== 'string' || typeof record.version !== 'string') return undefined;
    const module = { exports: {} as { version?: unknown } };
    process.dlopen(module, join(dist, record.path));
    return module.exports.version === record.version ? module.exports : undefined;
  } catch {
    return undefined;
  }
}
