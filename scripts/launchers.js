#!/usr/bin/env node
// Writes the launchers bin/NAME, one per command of the table in
// src/sys/launch.ts, from the one template scripts/launcher.sh. Run by
// `npm run build` after tsc (it reads the table from dist/). With --check it
// writes nothing: it lists what differs (a launcher missing, stale, not
// executable, a file in bin/ that is no command, package.json's "bin") and
// exits 1 if anything does.
import { readFileSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { COMMANDS, scriptOf } = await import(join(root, 'dist/sys/launch.js'));
const template = readFileSync(join(root, 'scripts/launcher.sh'), 'utf8');

/** The text of bin/`name`. */
export function launcherText(name, spec) {
  const options = spec.nodeOptions.join(' ');
  if (/['\s]/.test(spec.nodeOptions.join(''))) throw new Error(`${name}: a Node option with a quote or a space`);
  return template
    .replaceAll('@MODULE@', spec.module)
    .replaceAll('@SCRIPT@', scriptOf(spec))
    .replaceAll('@RECORDS@', spec.records)
    .replaceAll('@NODE_OPTIONS@', options);
}

const check = process.argv.includes('--check');
const problems = [];
for (const [name, spec] of Object.entries(COMMANDS)) {
  const file = join(root, 'bin', name);
  const text = launcherText(name, spec);
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (check) {
    if (current === undefined) problems.push(`bin/${name}: missing`);
    else if (current !== text) problems.push(`bin/${name}: differs from scripts/launcher.sh`);
    else if ((statSync(file).mode & 0o111) !== 0o111) problems.push(`bin/${name}: not executable`);
    continue;
  }
  if (current !== text) writeFileSync(file, text);
  chmodSync(file, 0o755);
}
for (const file of readdirSync(join(root, 'bin'))) if (!(file in COMMANDS)) problems.push(`bin/${file}: not a command of src/sys/launch.ts`);
const bin = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin ?? {};
const expected = Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, `bin/${name}`]));
if (JSON.stringify(Object.entries(bin).sort()) !== JSON.stringify(Object.entries(expected).sort()))
  problems.push('package.json: "bin" does not map every command to bin/NAME');
for (const problem of problems) console.error(problem);
process.exitCode = problems.length ? 1 : 0;
