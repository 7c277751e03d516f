// sys/unix-dgram.ts and sys/fd-watch.ts: a datagram socket bound at a path,
// received through epoll with the sender's credentials; real datagrams from
// this process, from Python, and from Debian's systemd-notify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readFileSync, statSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { openDatagramSocket, sendDatagram } from '../dist/sys/unix-dgram.js';
import { watchedCount } from '../dist/sys/fd-watch.js';
import { grantSearch, revokeGrants, searchAcl } from '../dist/sys/acl.js';
import { tempDir, isRoot } from './helpers.js';

/**
 * A socket in a fresh directory and a queue of what it receives.
 * @param {import('../dist/sys/unix-dgram.js').DatagramSocketOptions} [options]
 */
function listen(options) {
  const path = join(tempDir('notify-'), 'notify');
  /** @type {{data: string, size: number, truncated: boolean, sender?: {pid: number, uid: number, gid: number}, passedDescriptors: boolean}[]} */
  const got = [];
  /** @type {(() => void)[]} */
  let waiters = [];
  const socket = openDatagramSocket(
    path,
    {
      message: (d) => {
        got.push({ ...d, data: d.data.toString('latin1') });
        for (const w of waiters) w();
        waiters = [];
      },
      error: (err) => assert.fail(String(err)),
    },
    options,
  );
  /** @param {number} n */
  const received = async (n) => {
    while (got.length < n) await new Promise((resolve) => waiters.push(() => resolve(undefined)));
    return got;
  };
  return { path, socket, got, received };
}

test('datagrams arrive in order, with the sender pid, uid and gid the kernel reports', async () => {
  const { path, socket, received } = listen();
  try {
    sendDatagram(path, Buffer.from('READY=1\n'));
    sendDatagram(path, Buffer.from('STATUS=two\nWATCHDOG=1'));
    const got = await received(2);
    assert.deepEqual(
      got.map((d) => d.data),
      ['READY=1\n', 'STATUS=two\nWATCHDOG=1'],
    );
    assert.deepEqual(got[0]?.sender, { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    assert.equal(got[0]?.truncated, false);
  } finally {
    socket.close();
  }
});

test('the socket file is mode 0600, replaced if a socket was left there, and removed on close', async () => {
  const first = listen();
  assert.equal(statSync(first.path).mode & 0o7777, 0o600);
  assert.ok(statSync(first.path).isSocket());
  // a second socket at the same path (a supervisor restarted) takes it over
  const second = openDatagramSocket(first.path, { message: () => {}, error: () => {} }, { mode: 0o620 });
  assert.equal(statSync(first.path).mode & 0o7777, 0o620);
  second.close();
  assert.equal(existsSync(first.path), false);
  first.socket.close();
});

test('a file that is not a socket is never removed: bind fails with EADDRINUSE', () => {
  const path = join(tempDir('notify-'), 'notify');
  writeFileSync(path, 'keep me');
  assert.throws(
    () => openDatagramSocket(path, { message: () => {}, error: () => {} }),
    (/** @type {any} */ err) => err.code === 'EADDRINUSE' && err.syscall === 'bind',
  );
  assert.equal(readFileSync(path, 'utf8'), 'keep me');
});

test('a path longer than sun_path fails with ENAMETOOLONG and leaves no descriptor', () => {
  const before = readdirSync('/proc/self/fd').length;
  const path = join(tempDir('notify-'), 'x'.repeat(120));
  assert.throws(
    () => openDatagramSocket(path, { message: () => {}, error: () => {} }),
    (/** @type {any} */ err) => err.code === 'ENAMETOOLONG',
  );
  assert.equal(readdirSync('/proc/self/fd').length, before);
});

test('a datagram over the limit is reported truncated with its real size; the next one is intact', async () => {
  const { path, socket, received } = listen();
  try {
    sendDatagram(path, Buffer.alloc(64 * 1024, 'A'));
    sendDatagram(path, Buffer.alloc(4097, 'B'));
    sendDatagram(path, Buffer.alloc(4096, 'C'));
    const got = await received(3);
    assert.deepEqual(
      got.map((d) => [d.size, d.truncated, d.data.length]),
      [
        [65536, true, 0],
        [4097, true, 0],
        [4096, false, 4096],
      ],
    );
    assert.equal(got[2]?.data, 'C'.repeat(4096));
  } finally {
    socket.close();
  }
});

test('descriptors passed with a datagram (SCM_RIGHTS) are closed at once', async () => {
  const { path, socket, received } = listen();
  try {
    const before = readdirSync('/proc/self/fd').length;
    const py = [
      'import socket, os, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      'fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]',
      's.sendmsg([b"FDSTORE=1\\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes().join(f.to_bytes(4, sys.byteorder) for f in fds))], 0, sys.argv[1])',
    ].join('\n');
    execFileSync('python3', ['-c', py, path]);
    const got = await received(1);
    assert.equal(got[0]?.data, 'FDSTORE=1\n');
    assert.equal(got[0]?.passedDescriptors, true);
    assert.ok(got[0]?.sender && got[0].sender.pid !== process.pid);
    assert.equal(readdirSync('/proc/self/fd').length, before);
  } finally {
    socket.close();
  }
});

test('a flood of datagrams is received completely, a bounded number per turn', async () => {
  const { path, socket, received } = listen({ perTurn: 8 });
  try {
    // the receive queue holds net.unix.max_dgram_qlen (10) datagrams, then a
    // sender waits (or gets EAGAIN): send in bursts the loop drains in between
    for (let burst = 0; burst < 50; burst++) {
      for (let i = 0; i < 10; i++) sendDatagram(path, Buffer.from(`STATUS=${burst * 10 + i}`));
      await received((burst + 1) * 10);
    }
    const got = await received(500);
    assert.equal(got.length, 500);
    assert.deepEqual(
      got.map((d) => d.data),
      Array.from({ length: 500 }, (_, i) => `STATUS=${i}`),
    );
  } finally {
    socket.close();
  }
});

test("Debian's systemd-notify reaches the socket through NOTIFY_SOCKET", async () => {
  const { path, socket, received } = listen();
  try {
    await new Promise((resolve, reject) =>
      execFile('systemd-notify', ['--ready', '--status=warming up'], { env: { ...process.env, NOTIFY_SOCKET: path } }, (err) =>
        err ? reject(err) : resolve(undefined),
      ),
    );
    const got = await received(1);
    const keys = got[0]?.data.split('\n').filter(Boolean).sort();
    assert.ok(keys?.includes('READY=1'), got[0]?.data);
    assert.ok(keys?.includes('STATUS=warming up'), got[0]?.data);
  } finally {
    socket.close();
  }
});

test('the socket can be given to another owner when run as root', { skip: !isRoot }, () => {
  const path = join(tempDir('notify-'), 'notify');
  const socket = openDatagramSocket(path, { message: () => {}, error: () => {} }, { owner: { uid: 65534, gid: 65534 } });
  try {
    const st = statSync(path);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [65534, 65534, 0o600]);
  } finally {
    socket.close();
  }
});

test('a service running as another user reaches the socket in a 0700 supervise/ only once granted (owner + ACL)', { skip: !isRoot }, async () => {
  const base = tempDir('notify-', 0o755);
  const supervise = join(base, 'supervise');
  mkdirSync(supervise, 0o700);
  const path = join(supervise, 'notify');
  /** @type {(() => void) | undefined} */
  let arrived;
  /** @type {{pid: number, uid: number, gid: number} | undefined} */
  let from;
  const socket = openDatagramSocket(
    path,
    {
      message: (d) => {
        from = d.sender;
        arrived?.();
      },
      error: (err) => assert.fail(String(err)),
    },
    { owner: { uid: 65534, gid: 65534 } },
  );
  const send = () =>
    new Promise((resolve) =>
      execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'systemd-notify', '--ready'], { env: { NOTIFY_SOCKET: path } }, (err) =>
        resolve(err ? 'refused' : 'sent'),
      ),
    );
  try {
    assert.equal(await send(), 'refused', 'supervise/ is 0700: the service cannot reach it');
    grantSearch(supervise, 65534, 0o700);
    const got = new Promise((resolve) => (arrived = () => resolve(undefined)));
    assert.equal(await send(), 'sent');
    await got;
    assert.equal(from?.uid, 65534);
    // the owning group and others gained nothing; the mode's group bits show the mask
    assert.equal(statSync(supervise).mode & 0o777, 0o710);
    revokeGrants(supervise, 0o700);
    assert.equal(statSync(supervise).mode & 0o777, 0o700);
    assert.equal(await send(), 'refused');
  } finally {
    socket.close();
  }
});

test('the ACL written: the mode plus user:UID:--x, in the kernel format', () => {
  assert.equal(
    searchAcl(0o750, 1000).toString('hex'),
    ['02000000', '0100 0700 ffffffff', '0200 0100 e8030000', '0400 0500 ffffffff', '1000 0500 ffffffff', '2000 0000 ffffffff'].join('').replaceAll(' ', ''),
  );
});

test('nothing stays watched once every socket is closed', () => {
  assert.equal(watchedCount(), 0);
});
