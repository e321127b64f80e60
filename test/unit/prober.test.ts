// Each kind of probe against real servers on loopback, and the prober child
// process end to end. Every probe resolves with a result: up or down, with a
// reason an operator can read, in about its timeout at worst.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttp,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import { connect, createServer as createTcp, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/health/line-splitter.js';
import type { ProbeRequest } from '../../src/health/probe.js';
import { ProberProcess } from '../../src/health/prober-process.js';
import { probeExec } from '../../src/health/prober/exec.js';
import { probeGrpc } from '../../src/health/prober/grpc.js';
import { probeHttp } from '../../src/health/prober/http.js';
import { probeTcp } from '../../src/health/prober/tcp.js';
import { probeUdp } from '../../src/health/prober/udp.js';

const LO = '127.0.0.1';
const TIMEOUT = 300;
/** How late past its timeout a probe may end, on a busy two-CPU machine. */
const SLACK = 250;

const req = (kind: ProbeRequest['kind'], port: number, more: Partial<ProbeRequest> = {}): ProbeRequest => ({
  id: 1,
  kind,
  address: LO,
  port,
  timeoutMs: TIMEOUT,
  ...more,
});
const web = (port: number, http: Partial<NonNullable<ProbeRequest['http']>> = {}, more: Partial<ProbeRequest> = {}) =>
  req('http', port, { http: { tls: false, path: '/', statuses: [[200, 299]], verify: true, ...http }, ...more });

function listen(server: TcpServer | HttpServer, host = LO): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
}
/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createTcp();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a tcp probe', () => {
  it('is up when the port accepts, and closes its connection at once', async () => {
    let closed = 0;
    const server = createTcp((s) => s.on('close', () => closed++).resume());
    const port = await listen(server);
    expect(await probeTcp(req('tcp', port))).toMatchObject({ id: 1, ok: true, reason: 'connected' });
    await sleep(50);
    expect(closed).toBe(1);
    server.close();
  });

  it('is up over IPv6 too', async () => {
    const server = createTcp((s) => s.destroy());
    const port = await listen(server, '::1');
    expect(await probeTcp(req('tcp', port, { address: '::1' }))).toMatchObject({ ok: true });
    server.close();
  });

  it('is down on a closed port: "connect ECONNREFUSED"', async () => {
    const r = await probeTcp(req('tcp', await closedPort()));
    expect(r).toMatchObject({ ok: false, reason: 'connect ECONNREFUSED' });
    expect(r.latencyMs).toBeGreaterThan(0);
  });
});

describe('an http probe', () => {
  const seen: IncomingHttpHeaders[] = [];
  let closedConnections = 0;
  const handler = (q: IncomingMessage, res: ServerResponse) => {
    seen.push(q.headers);
    if (q.url === '/down') return res.writeHead(503).end('busy');
    if (q.url === '/big') return res.end(`${'x'.repeat(64 * 1024)}ok`);
    if (q.url === '/hang') return;
    res.end('all ok');
  };
  const server = createHttp(handler);
  server.on('connection', (s) => s.on('close', () => closedConnections++));
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('is up on 200, with the Host header asked for, Connection: close, on a connection of its own', async () => {
    const before = closedConnections;
    expect(await probeHttp(web(port, { path: '/ok', host: 'app.example' }))).toMatchObject({
      ok: true,
      reason: 'HTTP 200',
    });
    expect(seen.at(-1)).toMatchObject({ host: 'app.example', connection: 'close' });
    await sleep(50);
    expect(closedConnections).toBe(before + 1);
  });

  it('sends the address and port as Host when none is asked for', async () => {
    await probeHttp(web(port));
    expect(seen.at(-1)!.host).toBe(`${LO}:${port}`);
  });

  it('is down on 503: "HTTP 503", and up on it when the statuses say so', async () => {
    expect(await probeHttp(web(port, { path: '/down' }))).toMatchObject({ ok: false, reason: 'HTTP 503' });
    const ranges: [number, number][] = [
      [200, 200],
      [500, 503],
    ];
    expect(await probeHttp(web(port, { path: '/down', statuses: ranges }))).toMatchObject({
      ok: true,
      reason: 'HTTP 503',
    });
  });

  it('matches the body against a regex, on its first 64 KiB only', async () => {
    expect(await probeHttp(web(port, { body: 'ok$' }))).toMatchObject({ ok: true, reason: 'HTTP 200' });
    expect(await probeHttp(web(port, { body: '^ok' }))).toMatchObject({
      ok: false,
      reason: 'body does not match /^ok/',
    });
    expect(await probeHttp(web(port, { path: '/big', body: 'ok' }))).toMatchObject({ ok: false });
  });

  it('times out a server that accepts and never answers', async () => {
    const r = await probeHttp(web(port, { path: '/hang' }));
    expect(r).toMatchObject({ ok: false, reason: `timeout after ${TIMEOUT} ms` });
    expect(r.latencyMs).toBeGreaterThanOrEqual(TIMEOUT - 1);
    expect(r.latencyMs).toBeLessThan(TIMEOUT + SLACK);
  });

  it('is down on a closed port, and with a CA file it cannot read', async () => {
    expect(await probeHttp(web(await closedPort()))).toMatchObject({ ok: false, reason: 'connect ECONNREFUSED' });
    const r = await probeHttp(web(port, { tls: true, caFile: '/nonexistent/ca.pem' }));
    expect(r).toMatchObject({ ok: false, reason: 'CA file: open ENOENT' });
  });
});

describe('an https probe against a self-signed certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prober-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-keyout', key, '-out', cert, '-subj', '/CN=probe.test'],
      ...['-addext', `subjectAltName=DNS:probe.test,IP:${LO}`],
    ],
    { stdio: 'ignore' },
  );
  const names: (string | false | null)[] = [];
  const server = createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, (q, res) => {
    names.push((q.socket as TLSSocket).servername);
    res.end('ok');
  });
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true });
  });

  it('is down with a TLS reason when it verifies, up when it does not', async () => {
    const verified = await probeHttp(web(port, { tls: true }));
    expect(verified).toMatchObject({ ok: false, reason: 'TLS DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(await probeHttp(web(port, { tls: true, verify: false }))).toMatchObject({ ok: true, reason: 'HTTP 200' });
  });

  it('verifies with the CA file given, against the SNI name', async () => {
    expect(await probeHttp(web(port, { tls: true, caFile: cert }))).toMatchObject({ ok: true });
    expect(await probeHttp(web(port, { tls: true, caFile: cert, sni: 'probe.test' }))).toMatchObject({ ok: true });
    expect(names.at(-1)).toBe('probe.test');
    const wrong = await probeHttp(web(port, { tls: true, caFile: cert, sni: 'other.test' }));
    expect(wrong).toMatchObject({ ok: false, reason: 'TLS ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('serves a grpc probe over TLS the same way: up unverified, down verified', async () => {
    const grpc = new Server();
    new HealthImplementation({ '': 'SERVING' }).addToServer(grpc);
    const creds = ServerCredentials.createSsl(null, [
      { private_key: readFileSync(key), cert_chain: readFileSync(cert) },
    ]);
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpc.bindAsync(`${LO}:0`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    const probe = (verify: boolean) =>
      probeGrpc(req('grpc', grpcPort, { timeoutMs: 2000, grpc: { service: '', tls: true, verify } }));
    expect(await probe(false)).toMatchObject({ ok: true, reason: 'gRPC SERVING' });
    expect(await probe(true)).toMatchObject({
      ok: false,
      reason: 'gRPC UNAVAILABLE: self-signed certificate',
    });
    grpc.forceShutdown();
  });
});

describe('a grpc probe', () => {
  const server = new Server();
  new HealthImplementation({ '': 'SERVING', 'app.Down': 'NOT_SERVING' }).addToServer(server);
  const bare = new Server();
  // In front of the server, to count the probes' connections still open.
  let open = 0;
  const proxy = createTcp((s) => {
    open++;
    s.on('close', () => open--);
    const up = connect(grpcPort, LO);
    s.pipe(up).pipe(s);
    up.on('error', () => s.destroy());
    s.on('error', () => up.destroy());
  });
  let grpcPort = 0;
  let proxyPort = 0;
  let barePort = 0;
  const bind = (s: Server) =>
    new Promise<number>((resolve, reject) =>
      s.bindAsync(`${LO}:0`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  beforeAll(async () => {
    grpcPort = await bind(server);
    barePort = await bind(bare);
    proxyPort = await listen(proxy);
  });
  afterAll(() => {
    server.forceShutdown();
    bare.forceShutdown();
    proxy.close();
  });
  const check = (port: number, service: string) =>
    probeGrpc(req('grpc', port, { timeoutMs: 2000, grpc: { service, tls: false, verify: true } }));

  it('is up when the service is SERVING, and leaves no connection open', async () => {
    expect(await check(proxyPort, '')).toMatchObject({ ok: true, reason: 'gRPC SERVING' });
    await sleep(100);
    expect(open).toBe(0);
  });

  it('is down when it is NOT_SERVING, or unknown, or there is no health service', async () => {
    expect(await check(grpcPort, 'app.Down')).toMatchObject({ ok: false, reason: 'gRPC NOT_SERVING' });
    expect(await check(grpcPort, 'app.Unknown')).toMatchObject({ ok: false, reason: 'gRPC NOT_FOUND' });
    expect(await check(barePort, '')).toMatchObject({ ok: false, reason: 'gRPC UNIMPLEMENTED' });
  });

  it('is down on a closed port: "connect ECONNREFUSED"', async () => {
    expect(await check(await closedPort(), '')).toMatchObject({ ok: false, reason: 'connect ECONNREFUSED' });
  });
});

describe('a udp probe', () => {
  const echo = createSocket('udp4');
  echo.on('message', (m, from) => echo.send(m[0] === 0x70 ? 'pong' : m, from.port, from.address));
  const silent = createSocket('udp4');
  const bind = (s: UdpSocket) => new Promise<number>((resolve) => s.bind(0, LO, () => resolve(s.address().port)));
  let echoPort = 0;
  let silentPort = 0;
  beforeAll(async () => {
    echoPort = await bind(echo);
    silentPort = await bind(silent);
  });
  afterAll(() => {
    echo.close();
    silent.close();
  });
  const datagram = (port: number, text: string, expect?: string) =>
    req('udp', port, { udp: { payload: Buffer.from(text).toString('base64'), ...(expect ? { expect } : {}) } });

  it('is up at a reply, or a reply that matches', async () => {
    expect(await probeUdp(datagram(echoPort, 'hello'))).toMatchObject({ ok: true, reason: 'UDP reply, 5 bytes' });
    expect(await probeUdp(datagram(echoPort, 'ping', '^pong$'))).toMatchObject({ ok: true });
    expect(await probeUdp(datagram(echoPort, 'hello', '^pong$'))).toMatchObject({
      ok: false,
      reason: 'reply does not match /^pong$/',
    });
  });

  it('is down when nothing answers in time: "UDP no reply"', async () => {
    const r = await probeUdp(datagram(silentPort, 'hello'));
    expect(r).toMatchObject({ ok: false, reason: 'UDP no reply' });
    expect(r.latencyMs).toBeLessThan(TIMEOUT + SLACK);
  });

  it('is down at once when the port is unreachable', async () => {
    const r = await probeUdp(datagram(await closedPort(), 'hello'));
    expect(r).toMatchObject({ ok: false, reason: 'UDP port unreachable' });
    expect(r.latencyMs).toBeLessThan(TIMEOUT);
  });
});

describe('an exec probe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prober-exec-'));
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const run = (path: string, more: Partial<NonNullable<ProbeRequest['exec']>> = {}) =>
    probeExec(req('exec', 8080, { address: '192.0.2.10', exec: { path, args: [], weightFromOutput: false, ...more } }));
  afterAll(() => rmSync(dir, { recursive: true }));

  it('is up at exit 0, given the destination in IPVSD_ADDRESS, IPVSD_PORT and its arguments', async () => {
    const path = script('up', '[ "$IPVSD_ADDRESS:$IPVSD_PORT" = 192.0.2.10:8080 ] && [ "$1 $2" = "check fast" ]');
    expect(await run(path, { args: ['check', 'fast'] })).toMatchObject({ ok: true, reason: 'exit 0' });
    expect(await run(path, { args: ['other'] })).toMatchObject({ ok: false, reason: 'exit 1' });
  });

  it('takes the weight from the first line of its output', async () => {
    expect(await run(script('weight', 'echo 5; echo 6'), { weightFromOutput: true })).toEqual(
      expect.objectContaining({ ok: true, reason: 'exit 0, weight 5', weight: 5 }),
    );
    const none = await run(script('chatty', 'echo fine'), { weightFromOutput: true });
    expect(none).toMatchObject({ ok: true, reason: 'exit 0, output is not a weight' });
    expect(none.weight).toBeUndefined();
    expect((await run(script('huge', 'echo 65536'), { weightFromOutput: true })).weight).toBeUndefined();
  });

  it('kills it and all it started with SIGKILL at the timeout: "killed after timeout"', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const r = await run(script('slow', `sleep 30 & echo $! > ${pidFile}; wait`));
    expect(r).toMatchObject({ ok: false, reason: 'killed after timeout' });
    expect(r.latencyMs).toBeLessThan(TIMEOUT + SLACK);
    await sleep(100);
    // Gone, or a zombie waiting for its new parent to reap it: either way it runs no more.
    const sleeper = `/proc/${readFileSync(pidFile, 'utf8').trim()}/stat`;
    expect(!existsSync(sleeper) || / Z /.test(readFileSync(sleeper, 'utf8'))).toBe(true);
  });

  it('is down when the program cannot run', async () => {
    expect(await run(join(dir, 'missing'))).toMatchObject({
      ok: false,
      reason: `spawn ${join(dir, 'missing')} ENOENT`,
    });
  });
});

describe('the prober child process', { timeout: 20_000 }, () => {
  let port = 0;
  const server = createTcp((s) => s.destroy());
  const silent = createSocket('udp4');
  let silentPort = 0;
  beforeAll(async () => {
    port = await listen(server);
    silentPort = await new Promise<number>((resolve) => silent.bind(0, LO, () => resolve(silent.address().port)));
  });
  afterAll(() => {
    server.close();
    silent.close();
  });
  const tcp = { kind: 'tcp' as const, address: LO, port, timeoutMs: 1000 };
  const hang = (timeoutMs: number) => ({ kind: 'udp' as const, address: LO, timeoutMs, udp: { payload: '' } });

  it('probes from a child in our own namespace, which is gone once closed', async () => {
    const p = await ProberProcess.start('');
    expect(p.pid).not.toBe(process.pid);
    expect(await p.probe({ ...tcp, port })).toMatchObject({ ok: true, reason: 'connected' });
    await p.close();
    expect(() => process.kill(p.pid, 0)).toThrow(/ESRCH/);
    expect(await p.probe({ ...tcp, port })).toMatchObject({ ok: false, reason: 'prober closed' });
  });

  it('fails the pending probes of a child that died, and starts another for the next probe', async () => {
    const p = await ProberProcess.start('');
    const pending = p.probe({ ...hang(10_000), port: silentPort });
    await sleep(100);
    const first = p.pid;
    process.kill(first, 'SIGKILL');
    expect(await pending).toMatchObject({ ok: false, reason: 'prober exited (signal SIGKILL)' });
    expect(await p.probe({ ...tcp, port })).toMatchObject({ ok: true });
    expect(p.pid).not.toBe(first);
    await p.close();
  });

  it('runs at most maxInFlight probes at once, the others waiting in order', async () => {
    const finishOrder = async (p: ProberProcess) => {
      const order: string[] = [];
      await Promise.all([
        p.probe({ ...hang(200), port: silentPort }).then(() => order.push('slow')),
        p.probe({ ...tcp, port }).then(() => order.push('fast')),
      ]);
      await p.close();
      return order;
    };
    expect(await finishOrder(await ProberProcess.start('', { maxInFlight: 1 }))).toEqual(['slow', 'fast']);
    expect(await finishOrder(await ProberProcess.start(''))).toEqual(['fast', 'slow']);
  });

  it('answers an invalid request itself, without a child round trip', async () => {
    const p = await ProberProcess.start('');
    const r = await p.probe({ ...tcp, address: 'localhost', port });
    expect(r).toMatchObject({ ok: false, reason: 'invalid request: address: not an IPv4 or IPv6 address' });
    await p.close();
  });

  it('stops reading requests while its results are not read, and loses none', async () => {
    const main = fileURLToPath(new URL('../../src/health/prober/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], { stdio: ['pipe', 'pipe', 'inherit'] });
    const n = 20_000;
    // Refused at once, each with a result line: no probe needed to fill the pipe.
    let bytes = 0;
    for (let id = 0; id < n; id++) {
      const line = `{"id":${id},"kind":"icmp"}\n`;
      child.stdin.write(line);
      bytes += line.length;
    }
    await sleep(1000);
    // Most of the requests are still here: the child stopped reading when its results filled the pipe.
    expect(child.stdin.writableLength).toBeGreaterThan(bytes / 2);
    const splitter = new LineSplitter();
    const lines: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => lines.push(...splitter.push(chunk)));
    child.stdin.end();
    const [code] = await once(child, 'close');
    expect(code).toBe(0);
    expect(lines).toHaveLength(n + 1);
    expect(lines[n]).toMatch(`{"id":${n - 1},"ok":false,"latencyMs":0,"reason":"bad request: kind: not one of`);
  });

  it('fails to start for a path that is no network namespace, before any probe', async () => {
    await expect(ProberProcess.start('/etc/hostname')).rejects.toThrow(
      'prober exited (code 1): prober: enter network namespace /etc/hostname: EINVAL',
    );
    await expect(ProberProcess.start('/run/netns/absent')).rejects.toThrow(/open network namespace .*: ENOENT/);
  });

  it('fails to start a child that exits at once, passing its stderr to onLog', async () => {
    const logs: string[] = [];
    const start = ProberProcess.start('', { maxInFlight: 0, onLog: (l) => logs.push(l) });
    await expect(start).rejects.toThrow('prober exited (code 2): prober: --max-in-flight 0');
    expect(logs).toEqual(['prober: --max-in-flight 0']);
  });
});
