// Start and stop order over the services' `needs/` (docs/readiness.md).
// Pure: the host gives every service's declared needs (by service name in
// its directory, as supervisor/readiness-files.ts reads them and the host
// maps them to names) and asks, as states change, what a service still
// waits for and what must be down before a service stops.
//  - a need naming no service here is reported and not waited for;
//  - services whose needs form a cycle are reported and do not wait for
//    one another (their needs outside the cycle still count), so a cycle
//    never deadlocks anything; the order among them is undefined;
//  - a service stops only once every service that needs it is down (the
//    reverse of the start order); services without needs stop in parallel.
// Each problem carries a key, so that the host reports it once while it
// lasts (ProblemLog), not at every rescan.

export type NeedsProblem =
  | { kind: 'missing'; service: string; need: string; key: string; message: string }
  /** `cycle`: a cycle through `service` ([a, b, a]), or its first 9 names when longer */
  | { kind: 'cycle'; service: string; cycle: string[]; key: string; message: string };

export interface NeedsGraph {
  /** every service, sorted */
  readonly services: readonly string[];
  /** problems, one per service and need or cycle, sorted by service */
  readonly problems: readonly NeedsProblem[];
  /** the needs that count: declared, less missing ones and those inside a cycle */
  needs(service: string): readonly string[];
  /** the services whose counting needs include `service` */
  dependents(service: string): readonly string[];
  /** groups in start order: each needs only services of earlier groups */
  readonly startLevels: readonly (readonly string[])[];
  /** groups in stop order: startLevels reversed */
  readonly stopLevels: readonly (readonly string[])[];
  /** the counting needs of `service` not ready yet (empty: it may start), sorted */
  waitingFor(service: string, isReady: (service: string) => boolean): string[];
  /** the dependents of `service` not down yet (empty: it may stop), sorted */
  stopWaitsFor(service: string, isDown: (service: string) => boolean): string[];
}

/** The graph of `declared` (service name → names it needs). */
export function needsGraph(declared: ReadonlyMap<string, readonly string[]>): NeedsGraph {
  const services = [...declared.keys()].sort();
  const problems: NeedsProblem[] = [];
  const present = new Map<string, string[]>();
  for (const s of services) {
    const needs: string[] = [];
    for (const n of new Set(declared.get(s))) {
      if (declared.has(n)) needs.push(n);
      else {
        problems.push({
          kind: 'missing',
          service: s,
          need: n,
          key: `missing ${s} ${n}`,
          message: `${s}: needs ${n}, which is not a service here: not waited for`,
        });
      }
    }
    present.set(s, needs.sort());
  }

  const { componentOf, components } = stronglyConnected(services, present);
  const counting = new Map<string, string[]>();
  for (const s of services)
    counting.set(
      s,
      present.get(s)!.filter((n) => componentOf.get(n) !== componentOf.get(s)),
    );
  for (const members of components) {
    const self = members.length === 1 && present.get(members[0]!)!.includes(members[0]!);
    if (members.length === 1 && !self) continue;
    if (self) {
      const s = members[0]!;
      problems.push({ kind: 'cycle', service: s, cycle: [s, s], key: `cycle ${s} ${s}`, message: `${s}: needs itself: ignored` });
      continue;
    }
    // one cycle through the component, shown from each member's place on it
    const cycle = shortestCycle(members[0]!, present, componentOf);
    const place = new Map(cycle.slice(0, -1).map((m, i) => [m, i]));
    for (const s of members) {
      const at = place.get(s);
      const shown = rotate(cycle, at ?? 0);
      const whole = cycle.length <= CYCLE_SHOWN;
      const inside = present.get(s)!.filter((n) => n !== s && componentOf.get(n) === componentOf.get(s));
      problems.push({
        kind: 'cycle',
        service: s,
        cycle: shown,
        key: `cycle ${s} ${inside.join(' ')}`,
        message: `${s}: needs form a cycle: ${shown.join(' -> ')}${whole ? '' : ' -> ...'}: started without waiting for ${shortList(inside, ', ')}`,
      });
    }
  }
  problems.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));

  const dependents = new Map<string, string[]>(services.map((s) => [s, []]));
  for (const s of services) for (const n of counting.get(s)!) dependents.get(n)!.push(s);

  // components come out of Tarjan's walk after everything they need: one pass sets every level
  const level = new Map<string, number>();
  const startLevels: string[][] = [];
  for (const members of components) {
    for (const s of members) {
      let l = 0;
      for (const n of counting.get(s)!) l = Math.max(l, level.get(n)! + 1);
      level.set(s, l);
    }
  }
  for (const s of services) (startLevels[level.get(s)!] ??= []).push(s);

  const none: readonly string[] = [];
  return {
    services,
    problems,
    needs: (s) => counting.get(s) ?? none,
    dependents: (s) => dependents.get(s) ?? none,
    startLevels,
    stopLevels: [...startLevels].reverse(),
    waitingFor: (s, isReady) => (counting.get(s) ?? none).filter((n) => !isReady(n)),
    stopWaitsFor: (s, isDown) => (dependents.get(s) ?? none).filter((d) => !isDown(d)),
  };
}

/**
 * The strongly connected components (Tarjan): each service's component
 * number, and the components (members sorted), each after every component
 * it has an edge to.
 */
function stronglyConnected(
  services: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
): { componentOf: Map<string, number>; components: string[][] } {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const componentOf = new Map<string, number>();
  const components: string[][] = [];
  let next = 0;
  // iterative, so that a long chain of needs cannot exhaust the call stack
  for (const root of services) {
    if (index.has(root)) continue;
    const work: { node: string; i: number }[] = [{ node: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node)!;
      if (frame.i < out.length) {
        const n = out[frame.i++]!;
        if (!index.has(n)) {
          index.set(n, next);
          low.set(n, next++);
          stack.push(n);
          onStack.add(n);
          work.push({ node: n, i: 0 });
        } else if (onStack.has(n)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(n)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const members: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          members.push(m);
        } while (m !== frame.node);
        members.sort();
        for (const member of members) componentOf.set(member, components.length);
        components.push(members);
      }
    }
  }
  return { componentOf, components };
}

/** The shortest way from `start` back to itself inside its component: [start, ..., start]. */
function shortestCycle(start: string, edges: ReadonlyMap<string, readonly string[]>, componentOf: ReadonlyMap<string, number>): string[] {
  const own = componentOf.get(start);
  const from = new Map<string, string>();
  let frontier = [start];
  while (frontier.length) {
    const following: string[] = [];
    for (const node of frontier) {
      for (const n of edges.get(node)!) {
        if (componentOf.get(n) !== own) continue;
        if (n === start) {
          const path = [start];
          for (let at: string | undefined = node; at !== undefined && at !== start; at = from.get(at)) path.unshift(at);
          return [start, ...path];
        }
        if (from.has(n)) continue;
        from.set(n, node);
        following.push(n);
      }
    }
    frontier = following;
  }
  return [start, start];
}

/** the most names of a cycle a problem lists */
const CYCLE_SHOWN = 9;

/** `cycle` ([a, b, c, a]) from its `at`-th element ([b, c, a, b]), cut after CYCLE_SHOWN names. */
function rotate(cycle: readonly string[], at: number): string[] {
  const length = cycle.length - 1;
  const shown: string[] = [];
  for (let i = 0; i <= length && i < CYCLE_SHOWN; i++) shown.push(cycle[(at + i) % length]!);
  return shown;
}

/** At most 8 names, then how many more. */
function shortList(names: readonly string[], separator: string): string {
  const shown = names.slice(0, 8).join(separator);
  return names.length > 8 ? `${shown}${separator}... (${names.length - 8} more)` : shown;
}

/**
 * Reports each problem once while it lasts: `update` returns the problems
 * not reported before; one that went away and comes back is new again.
 */
export class ProblemLog {
  private reported = new Set<string>();

  update(problems: readonly NeedsProblem[]): NeedsProblem[] {
    const now = new Set(problems.map((p) => p.key));
    const fresh = problems.filter((p) => !this.reported.has(p.key));
    this.reported = now;
    return fresh;
  }
}
