#!/usr/bin/env node
// Copies the files that are not compiled into dist/: the dashboard of
// `runit-ts serve` (src/http/dashboard/ to dist/http/dashboard/). Run by
// `npm run build` after tsc.
import { cpSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'src/http/dashboard'), join(root, 'dist/http/dashboard'), { recursive: true });
