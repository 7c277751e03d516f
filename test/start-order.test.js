// scanner/start-order.ts: start and stop order over needs/, missing needs and
// cycles reported once and never blocking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsGraph, ProblemLog } from '../dist/scanner/start-order.js';

/** @param {Record<string, string[]>} needs */
const graph = (needs) => needsGraph(new Map(Object.entries(needs)));

test('a chain: start levels in order, stop levels reversed', () => {
  const g = graph({ app: ['db', 'cache'], db: ['disk'], cache: [], disk: [], web: ['app'], cron: [] });
  assert.deepEqual(g.startLevels, [['cache', 'cron', 'disk'], ['db'], ['app'], ['web']]);
  assert.deepEqual(g.stopLevels, [['web'], ['app'], ['db'], ['cache', 'cron', 'disk']]);
  assert.deepEqual(g.problems, []);
  assert.deepEqual(g.needs('app'), ['cache', 'db']);
  assert.deepEqual(g.dependents('db'), ['app']);
  assert.deepEqual(g.dependents('cron'), []);
});

test('waitingFor: the needs not ready yet; stopWaitsFor: the dependents not down yet', () => {
  const g = graph({ app: ['db', 'cache'], db: [], cache: [], web: ['app'] });
  const ready = new Set(['cache']);
  assert.deepEqual(
    g.waitingFor('app', (s) => ready.has(s)),
    ['db'],
  );
  ready.add('db');
  assert.deepEqual(
    g.waitingFor('app', (s) => ready.has(s)),
    [],
  );
  assert.deepEqual(
    g.waitingFor('db', () => false),
    [],
  );
  const down = new Set(['web']);
  assert.deepEqual(
    g.stopWaitsFor('db', (s) => down.has(s)),
    ['app'],
  );
  down.add('app');
  assert.deepEqual(
    g.stopWaitsFor('db', (s) => down.has(s)),
    [],
  );
  assert.deepEqual(
    g.waitingFor('unknown', () => false),
    [],
  );
});

test('a need naming no service is reported and not waited for', () => {
  const g = graph({ app: ['db', 'queue'], db: [] });
  assert.deepEqual(g.needs('app'), ['db']);
  assert.deepEqual(
    g.problems.map((p) => p.message),
    ['app: needs queue, which is not a service here: not waited for'],
  );
  assert.deepEqual(g.startLevels, [['db'], ['app']]);
});

test('a cycle is reported for each of its services, which then start without waiting for one another', () => {
  const g = graph({ a: ['b'], b: ['c'], c: ['a', 'base'], base: [], top: ['a'] });
  assert.deepEqual(
    g.problems.map((p) => p.message),
    [
      'a: needs form a cycle: a -> b -> c -> a: started without waiting for b',
      'b: needs form a cycle: b -> c -> a -> b: started without waiting for c',
      'c: needs form a cycle: c -> a -> b -> c: started without waiting for a',
    ],
  );
  // needs outside the cycle still count
  assert.deepEqual(g.needs('c'), ['base']);
  assert.deepEqual(g.needs('a'), []);
  assert.deepEqual(g.startLevels, [
    ['a', 'b', 'base'],
    ['c', 'top'],
  ]);
  assert.deepEqual(
    g.waitingFor('c', () => false),
    ['base'],
  );
});

test('a service needing itself is reported; two services needing each other too', () => {
  const g = graph({ x: ['x'], p: ['q'], q: ['p'] });
  assert.deepEqual(
    g.problems.map((p) => [p.kind, p.message]),
    [
      ['cycle', 'p: needs form a cycle: p -> q -> p: started without waiting for q'],
      ['cycle', 'q: needs form a cycle: q -> p -> q: started without waiting for p'],
      ['cycle', 'x: needs itself: ignored'],
    ],
  );
  assert.deepEqual(g.startLevels, [['p', 'q', 'x']]);
});

test('a long chain, then the same closed into one cycle: no deep recursion, messages stay short', () => {
  /** @type {Record<string, string[]>} */
  const needs = {};
  for (let i = 0; i < 20000; i++) needs[`s${i}`] = i ? [`s${i - 1}`] : [];
  const chain = graph(needs);
  assert.equal(chain.startLevels.length, 20000);
  assert.deepEqual(chain.stopLevels[0], ['s19999']);
  needs.s0 = ['s19999'];
  const ring = graph(needs);
  assert.equal(ring.problems.length, 20000);
  assert.equal(ring.startLevels.length, 1);
  assert.equal(
    ring.problems.find((p) => p.service === 's5')?.message,
    's5: needs form a cycle: s5 -> s4 -> s3 -> s2 -> s1 -> s0 -> s19999 -> s19998 -> s19997 -> ...: started without waiting for s4',
  );
});

test('ProblemLog reports each problem once while it lasts, and again if it comes back', () => {
  const log = new ProblemLog();
  const first = graph({ app: ['db'] });
  assert.deepEqual(
    log.update(first.problems).map((p) => p.message),
    ['app: needs db, which is not a service here: not waited for'],
  );
  assert.deepEqual(log.update(graph({ app: ['db'] }).problems), []);
  assert.deepEqual(log.update(graph({ app: ['db'], db: [] }).problems), []);
  assert.equal(log.update(graph({ app: ['db'] }).problems).length, 1);
});
