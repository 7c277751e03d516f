#!/usr/bin/env node
// Writes, for each command of the table in src/sys/launch.ts marked
// `bundle` (the short-lived ones: sv, chpst, ...; the supervisors),
// dist/cli/<module>.cjs: the module and everything it imports from dist/ in
// one CommonJS file, which its launcher runs. Node then reads and compiles
// one file instead of a dozen, and never starts its ES module loader (which
// also loads every lazy part of a built-in that an `import` names: `node:fs`
// brings in streams). Comments and whitespace are left out: a long-running
// supervisor keeps its source in memory (~0.7 MB of USS less for runsvdir);
// names are kept, so a stack trace still reads. Run by `npm run build`
// after tsc, before scripts/launchers.js.
//
// It also records in dist/koffi-native.json which file of koffi's prebuilt
// binaries koffi itself loads on this machine (src/sys/koffi-native.ts loads
// it straight from there).
import { writeFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const { COMMANDS } = await import(join(dist, 'sys/launch.js'));

const modules = [...new Set(Object.values(COMMANDS).flatMap((spec) => (spec.bundle ? [spec.module] : [])))];
await build({
  entryPoints: modules.map((module) => join(dist, 'cli', `${module}.js`)),
  outdir: join(dist, 'cli'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // koffi and its binary stay in node_modules, loaded at run time
  external: ['koffi'],
  // import.meta is the bundle's own: it is in dist/cli/ as the module was,
  // so the paths made from it stay right; its url is made only when asked for
  define: { 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename', 'import.meta': 'import_meta' },
  banner: { js: 'const import_meta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// koffi's binary, as koffi chose it (glibc or musl build, ...), relative to dist/
const require = createRequire(join(dist, 'sys/libc.js'));
const before = new Set(Object.keys(require.cache));
const koffi = require('koffi');
const native = Object.keys(require.cache).find((file) => file.endsWith('.node') && !before.has(file));
const record = join(dist, 'koffi-native.json');
if (native && typeof koffi.version === 'string') {
  const path = relative(realpathSync(dist), native).split(sep).join('/');
  writeFileSync(record, `${JSON.stringify({ path, version: koffi.version })}\n`);
} else {
  // not found: koffi is loaded through its own loader
  rmSync(record, { force: true });
}
