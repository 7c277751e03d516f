// The dashboard: every service, updated from the server's event stream
// (no reloads, no polling of the server); a service's log, live; actions
// with the bearer token when the server has control on.
const rows = new Map(); // service name -> { data, main: <tr>, log: <tr> | undefined }
let control = false;
let selected;
let logStream;

const $ = (id) => document.getElementById(id);

function message(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

const ACTIONS = ['up', 'down', 'restart', 'once', 'term', 'kill', 'hup', 'pause', 'cont'];
const CONFIRM = new Set(['down', 'restart', 'term', 'kill']);

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function bytes(n) {
  if (n < 1024 * 1024) return `${Math.round(n / 1024)}K`;
  return n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)}M` : `${(n / 1024 ** 3).toFixed(1)}G`;
}

function stateClass(p) {
  if (p.error) return 'state-down';
  if (p.state === 'run') return p.want === 'down' || p.paused ? 'state-between' : 'state-run';
  if (p.state === 'finish') return 'state-between';
  return p.want === 'up' ? 'state-down' : '';
}

const COLUMNS = ['service', 'state', 'pid', 'uptime', 'starts', 'cpu', 'memory', 'notes'];

function fill(tr, label, p) {
  const cells = [
    label,
    p.state ?? '?',
    p.pid ?? '-',
    p.since === null ? '-' : duration(Date.now() / 1000 - p.since),
    p.startsSeen ?? 0,
    p.processes ? `${p.processes.cpuSeconds.toFixed(2)}s` : '-',
    p.processes ? bytes(p.processes.rssBytes) : '-',
    p.notes,
  ];
  tr.replaceChildren(
    ...cells.map((text, i) => {
      const td = document.createElement('td');
      td.textContent = String(text);
      td.dataset.label = COLUMNS[i];
      if (i === 1) td.className = stateClass(p);
      if (i === 7) td.className = 'notes';
      return td;
    }),
  );
  tr.dataset.since = p.since ?? '';
}

function show(service) {
  let row = rows.get(service.name);
  if (!row) {
    const main = document.createElement('tr');
    main.dataset.service = service.name;
    main.addEventListener('click', () => {
      location.hash = `service=${encodeURIComponent(service.name)}`;
    });
    row = { main, log: undefined };
    rows.set(service.name, row);
    const body = $('services').tBodies[0];
    const after = [...rows.keys()].sort().find((n) => n > service.name);
    body.insertBefore(main, after ? rows.get(after).main : null);
  }
  row.data = service;
  fill(row.main, service.name, service);
  if (service.log) {
    if (!row.log) {
      row.log = document.createElement('tr');
      row.log.className = 'log';
      row.log.dataset.service = `${service.name}/log`;
      row.main.after(row.log);
    }
    fill(row.log, 'log', service.log);
  } else if (row.log) {
    row.log.remove();
    row.log = undefined;
  }
  if (selected === service.name) detail();
}

function forget(name) {
  const row = rows.get(name);
  row?.main.remove();
  row?.log?.remove();
  rows.delete(name);
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function refresh(name) {
  try {
    show(await getJson(`/api/services/${encodeURIComponent(name)}`));
  } catch {
    forget(name);
  }
}

async function refreshAll() {
  const doc = await getJson('/api/services');
  const names = new Set(doc.services.map((s) => s.name));
  for (const name of [...rows.keys()]) if (!names.has(name)) forget(name);
  for (const s of doc.services) show(s);
}

function listen() {
  const events = new EventSource('/api/events');
  events.onopen = () => {
    $('connection').textContent = 'live';
    refreshAll().catch((e) => message(e.message));
  };
  events.onerror = () => {
    $('connection').textContent = 'reconnecting…';
  };
  events.onmessage = (e) => {
    const event = JSON.parse(e.data);
    if (event.event === 'removed') forget(event.service);
    else refresh(event.service);
  };
}

async function act(name, action) {
  if (CONFIRM.has(action) && !confirm(`${action} ${name}?`)) return;
  const token = $('token').value.trim();
  sessionStorage.setItem('runit-ts-token', token);
  const res = await fetch(`/api/services/${encodeURIComponent(name)}/${action}`, {
    method: 'POST',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  message(res.ok ? '' : `${action} ${name}: ${res.status} ${(await res.text()).trim()}`);
}

function detail() {
  const name = selected;
  const row = rows.get(name);
  $('detail').hidden = !row;
  if (!row) return;
  $('detail-name').textContent = name;
  const actions = $('actions');
  if (control && actions.dataset.service !== name) {
    actions.dataset.service = name;
    actions.replaceChildren(
      ...ACTIONS.map((action) => {
        const b = document.createElement('button');
        b.textContent = action;
        b.dataset.action = action;
        b.addEventListener('click', () => act(name, action));
        return b;
      }),
    );
  }
}

function select() {
  const m = /^#service=(.+)$/.exec(location.hash);
  selected = m ? decodeURIComponent(m[1]) : undefined;
  logStream?.close();
  logStream = undefined;
  $('log').textContent = '';
  $('actions').replaceChildren();
  delete $('actions').dataset.service;
  detail();
  if (!selected) return;
  logStream = new EventSource(`/api/services/${encodeURIComponent(selected)}/log?follow=1&n=100`);
  logStream.onmessage = (e) => {
    const log = $('log');
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(`${JSON.parse(e.data)}\n`);
    if (atEnd) log.scrollTop = log.scrollHeight;
  };
  logStream.onerror = () => {
    // no log directory: nothing to show, and no retrying
    if (logStream?.readyState === EventSource.CONNECTING && !$('log').textContent) logStream.close();
  };
}

// uptimes move on without asking the server
setInterval(() => {
  for (const row of rows.values()) {
    for (const [tr, p] of [
      [row.main, row.data],
      [row.log, row.data.log],
    ]) {
      if (tr && p && p.since !== null) tr.children[3].textContent = duration(Date.now() / 1000 - p.since);
    }
  }
}, 1000);

addEventListener('hashchange', select);
addEventListener('DOMContentLoaded', async () => {
  try {
    control = (await getJson('/api/config')).control;
  } catch (e) {
    message(e.message);
  }
  $('token-form').hidden = !control;
  $('token-form').addEventListener('submit', (e) => e.preventDefault());
  $('token').value = sessionStorage.getItem('runit-ts-token') ?? '';
  listen();
  select();
});
