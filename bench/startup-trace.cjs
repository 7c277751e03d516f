// Loaded into a command by bench/startup.js (NODE_OPTIONS=--require): marks
// the phases of its start-up on Node's clock (ms since
// performance.timeOrigin) and appends them, one JSON line, to the file
// that STARTUP_TRACE names:
//   boot      this file runs: Node's own start-up is over
//   main      the main script is about to be read
//   compiled  it has been read and compiled (it then runs: the command's work)
//   end       the work is over: the process exits, or calls execve (chpst)
//   dlopen    ms spent opening native addons (koffi's binary), part of the work
// The main script is read and compiled here, as Node would (the wrapper of
// a CommonJS module, vm.compileFunction), so that both can be timed.
'use strict';
const { performance } = require('node:perf_hooks');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const t = { origin: performance.timeOrigin, boot: performance.now(), dlopen: 0 };
// opened now: chpst may have dropped its privileges by the time it writes
const out = fs.openSync(process.env.STARTUP_TRACE, 'a');
let written = false;
function done(how) {
  if (written) return;
  written = true;
  t.end = performance.now();
  t.how = how;
  fs.writeSync(out, `${JSON.stringify(t)}\n`);
}
process.on('exit', () => done('exit'));

const original = Module._extensions['.cjs'] ?? Module._extensions['.js'];
Module._extensions['.cjs'] = function load(module, filename) {
  if (module.id !== '.') return original.call(this, module, filename);
  t.main = performance.now();
  const source = fs.readFileSync(filename, 'utf8');
  const fn = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  t.compiled = performance.now();
  fn.call(module.exports, module.exports, Module.createRequire(filename), module, filename, path.dirname(filename));
};

// koffi's binary: the time to open it, and its execve, which ends chpst's work
const dlopen = process.dlopen;
process.dlopen = function open(module, ...rest) {
  const start = performance.now();
  const result = dlopen.call(this, module, ...rest);
  t.dlopen += performance.now() - start;
  const api = module.exports;
  if (api && typeof api.load === 'function') {
    const loadLibrary = api.load;
    api.load = (...args) => {
      const lib = loadLibrary(...args);
      const func = lib.func.bind(lib);
      Object.defineProperty(lib, 'func', {
        value: (decl, ...more) => {
          const f = func(decl, ...more);
          if (!/\bexecve\b/.test(decl)) return f;
          return (...call) => {
            done('execve');
            return f(...call);
          };
        },
      });
      return lib;
    };
  }
  return result;
};
