// runit-ts serve: metrics, probes, a JSON API, an event stream and the
// dashboard, over HTTP (docs/runit-ts.md, "runit-ts serve"). A client of
// the on-disk protocol only: it reads supervise/ and /proc, and its one
// act on the world is writing control letters to supervise/control.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sendControl } from '../protocol/control.js';
import { ServiceEvents, type ServiceEvent } from '../observe/events.js';
import { normallyUpIn, readServices, serviceDir, withProcesses, type ServiceStatus, type ProgramStatus } from '../observe/service-status.js';
import { ProcessTable } from '../sys/process-table.js';
import { serviceJson, statusDocument } from '../observe/status-format.js';
import { findLogDir, presentLine } from '../observe/log-dir.js';
import { LogFollower, lastLines } from '../observe/log-follow.js';
import { errorTextOf } from '../sys/errstr.js';
import { metricsText, METRICS_CONTENT_TYPE } from './metrics.js';
import { bearerMatches, readToken, requestAllowed } from './security.js';

export interface ServeOptions {
  svdir: string;
  /** control letters accepted (with the token) */
  control: boolean;
  tokenFile: string;
  /** Host values answered to (set once the port is known); undefined: any (a unix socket) */
  allowedHosts: ReadonlySet<string> | undefined;
  /** the dashboard's files */
  dashboardDir: string;
  warn(message: string): void;
}

/** POST /api/services/NAME/ACTION: the letters written, as sv writes them. */
export const ACTIONS: Readonly<Record<string, string>> = {
  up: 'u',
  down: 'd',
  once: 'o',
  restart: 'tcu',
  pause: 'p',
  cont: 'c',
  hup: 'h',
  alarm: 'a',
  interrupt: 'i',
  quit: 'q',
  usr1: '1',
  usr2: '2',
  term: 't',
  kill: 'k',
  exit: 'x',
};

const STATIC: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
const TYPES: Readonly<Record<string, string>> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A service name as the API takes it: an entry of the services directory, never a path. */
function checkedName(svdir: string, raw: string): { name: string; dir: string } {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad service name');
  }
  if (name === '' || name.startsWith('.') || name.includes('/') || name.includes('\0')) throw new HttpError(404, `no such service: ${name}`);
  const dir = serviceDir(svdir, name);
  try {
    if (!statSync(dir).isDirectory()) throw new Error();
  } catch {
    throw new HttpError(404, `no such service: ${name}`);
  }
  return { name, dir };
}

/** Why a program is not as a probe wants it, or undefined. */
function notLive(p: ProgramStatus): string | undefined {
  return p.supervised ? undefined : (p.error ?? 'runsv not running');
}
function notReady(p: ProgramStatus): string | undefined {
  if (p.error !== null) return p.error;
  // a service someone took down on purpose does not make the host unready
  if (p.want === 'down') return undefined;
  if (p.state !== 'run') return `${p.state}, want up`;
  if (p.ready === false) return `run, not ready (${p.readiness})`;
  return undefined;
}

export class StatusServer {
  private readonly events: ServiceEvents;
  private readonly starts = new Map<string, number>();
  /** each program's supervisor as last looked up, for the pid it ran then (a scrape need not stat every supervise/lock) */
  private readonly supervisors = new Map<string, { pid: number | null; supervisorPid: number | null }>();
  private readonly streams = new Set<(event: ServiceEvent) => void>();
  private readonly startTime = Date.now() / 1000;
  readonly http: Server;

  /** Answer to these Host values from now on (the listening port is known). */
  allow(hosts: ReadonlySet<string>): void {
    this.options.allowedHosts = hosts;
  }

  constructor(private readonly options: ServeOptions) {
    this.events = new ServiceEvents(options.svdir, [], (event) => this.onEvent(event), options.warn);
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
  }

  start(): void {
    this.events.start();
  }

  close(): void {
    this.events.close();
    this.http.close();
    this.http.closeAllConnections();
  }

  private onEvent(event: ServiceEvent): void {
    const key = event.service + (event.log ? '/log' : '');
    this.supervisors.delete(key);
    if (event.event === 'up' || event.event === 'restart') this.starts.set(key, (this.starts.get(key) ?? 0) + 1);
    for (const send of this.streams) send(event);
  }

  /** The API's service: the status schema, and the starts this server saw (`startsSeen`). */
  private withStarts(s: ReturnType<typeof serviceJson>) {
    return { ...s, startsSeen: this.starts.get(s.name) ?? 0, log: s.log && { ...s.log, startsSeen: this.starts.get(`${s.name}/log`) ?? 0 } };
  }

  /**
   * Every service as the event stream keeps it (no status read: each was
   * read when its supervise/ changed), with the `down` file looked at
   * again (creating it changes nothing in supervise/) and, when asked,
   * the figures of its processes.
   */
  private services(figures: boolean): ServiceStatus[] {
    const table = figures ? new ProcessTable() : undefined;
    const fresh = (key: string, p: ProgramStatus, dir: string, log: boolean): ProgramStatus => {
      // a log service's `down` file is left as last read: one stat less per service
      const q = !log && p.supervised && p.error === null ? { ...p, normallyUp: normallyUpIn(dir) } : p;
      if (!table) return q;
      const known = this.supervisors.get(key);
      const full = withProcesses(q, dir, table, known?.pid === q.pid ? known.supervisorPid : undefined);
      this.supervisors.set(key, { pid: q.pid, supervisorPid: full.supervisorPid });
      return full;
    };
    return this.events
      .services()
      .map((s) => ({ ...fresh(s.name, s, s.dir, false), name: s.name, dir: s.dir, log: s.log && fresh(`${s.name}/log`, s.log, `${s.dir}/log`, true) }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = requestAllowed(req.headers.host, req.headers.origin, this.options.allowedHosts);
    if (refused) throw new HttpError(403, refused);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'POST') return this.act(req, res, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    if (Object.hasOwn(STATIC, path)) return this.file(res, STATIC[path]!);
    if (path === '/favicon.ico') return send(res, 204, '', 'image/x-icon');
    if (path === '/metrics') {
      const body = metricsText(this.services(true), { starts: this.starts }, { startTime: this.startTime });
      return send(res, 200, body, METRICS_CONTENT_TYPE);
    }
    if (path === '/livez') return this.probe(res, notLive, undefined);
    if (path === '/readyz') return this.probe(res, notReady, url.searchParams.get('service')?.split(','));
    if (path === '/api/config') return sendJson(res, 200, { control: this.options.control });
    if (path === '/api/services') {
      const doc = statusDocument(this.services(true), Date.now() / 1000);
      return sendJson(res, 200, { ...doc, services: doc.services.map((s) => this.withStarts(s)) });
    }
    if (path === '/api/events') return this.stream(req, res);
    const m = /^\/api\/services\/([^/]+)(\/log)?$/.exec(path);
    if (m) {
      const { name, dir } = checkedName(this.options.svdir, m[1]!);
      if (!m[2]) {
        const [status] = readServices(this.options.svdir, [name], this.options.warn);
        return sendJson(res, 200, this.withStarts(serviceJson(status!, Date.now() / 1000)));
      }
      return this.log(req, res, name, dir, url.searchParams);
    }
    throw new HttpError(404, 'not found');
  }

  private probe(res: ServerResponse, why: (p: ProgramStatus) => string | undefined, only: string[] | undefined): void {
    const services = only
      ? readServices(
          this.options.svdir,
          only.map((n) => checkedName(this.options.svdir, n).name),
          this.options.warn,
        )
      : this.services(false);
    const problems: string[] = [];
    for (const s of services) {
      const main = why(s);
      if (main) problems.push(`${s.name}: ${main}`);
      const log = s.log && why(s.log);
      if (log) problems.push(`${s.name}/log: ${log}`);
    }
    send(res, problems.length ? 503 : 200, problems.length ? `${problems.join('\n')}\n` : `ok: ${services.length} services\n`, 'text/plain; charset=utf-8');
  }

  private async act(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const m = /^\/api\/services\/([^/]+)\/([a-z0-9]+)$/.exec(path);
    if (!m) throw new HttpError(404, 'not found');
    if (!this.options.control) throw new HttpError(403, 'control is off (runit-ts serve --control)');
    let token: string;
    try {
      token = readToken(this.options.tokenFile);
    } catch (err) {
      throw new HttpError(503, `unable to read token file: ${errorTextOf(err)}`);
    }
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is needed');
    }
    const action = m[2]!;
    if (!Object.hasOwn(ACTIONS, action)) throw new HttpError(404, `no such action: ${action}`);
    const letters = ACTIONS[action]!;
    const { name, dir } = checkedName(this.options.svdir, m[1]!);
    req.resume();
    try {
      sendControl(`${dir}/supervise`, letters);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new HttpError(
        code === 'ENXIO' || code === 'ENOENT' ? 503 : 500,
        `${name}: unable to control supervise/control: ${code === 'ENXIO' ? 'runsv not running' : errorTextOf(err)}`,
      );
    }
    sendJson(res, 200, { ok: true, service: name, action, letters });
  }

  /** Server-Sent Events: one `data:` line of JSON per event. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.write(': runit-ts events\n\n');
    const send = (event: ServiceEvent) => res.write(`data: ${JSON.stringify(event)}\n\n`);
    this.streams.add(send);
    req.on('close', () => this.streams.delete(send));
  }

  /** The last lines of a service's log, as JSON, or followed as Server-Sent Events (`follow=1`). */
  private log(req: IncomingMessage, res: ServerResponse, name: string, serviceDir: string, params: URLSearchParams): void {
    let dir: string | undefined;
    try {
      dir = findLogDir(serviceDir);
    } catch (err) {
      throw new HttpError(404, `${name}: unable to read log/run: ${errorTextOf(err)}`);
    }
    if (dir === undefined) throw new HttpError(404, `${name}: log/run names no svlogd directory`);
    const n = Math.min(10000, Math.max(0, Number(params.get('n') ?? 100) || 0));
    if (params.get('follow') !== '1') return sendJson(res, 200, { service: name, dir, lines: lastLines(dir, n, undefined) });
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    const shown: string[] = [];
    let following = false;
    let previous = false;
    const follower = new LogFollower(dir, (line) => {
      const out = presentLine(line, undefined, previous);
      previous = out !== undefined;
      if (out === undefined) return;
      if (following) res.write(`data: ${JSON.stringify(out)}\n\n`);
      else shown.push(out);
    });
    follower.readAll();
    for (const line of shown.slice(Math.max(0, shown.length - n))) res.write(`data: ${JSON.stringify(line)}\n\n`);
    following = true;
    follower.follow();
    req.on('close', () => follower.close());
  }

  private file(res: ServerResponse, name: string): void {
    const body = readFileSync(join(this.options.dashboardDir, name));
    send(res, 200, body, TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream');
  }

  private fail(res: ServerResponse, err: unknown): void {
    const status = err instanceof HttpError ? err.status : 500;
    const message = err instanceof HttpError ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`;
    if (status === 500) this.options.warn(message);
    if (res.headersSent) return void res.end();
    send(res, status, `${message}\n`, 'text/plain; charset=utf-8');
  }
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function send(res: ServerResponse, status: number, body: string | Buffer, type: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8');
}
