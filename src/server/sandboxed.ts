// `npm start` on a machine whose kernel has no IPVS: the same server runs
// inside user-mode Linux, and this process forwards the configured
// listeners (TCP and unix) to it through vde2/slirp. TLS, when configured,
// ends inside the guest: bytes pass through here untouched.
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startSlirpNetwork } from '../sandbox/slirp.js';
import { runInUml } from '../sandbox/uml.js';
import { splitHostPort, type ServerConfig } from './config.js';

const GUEST_PORT = 50051;
/** The binary's default state directory: the sandbox keeps its own instead (sandboxStateDir). */
const DEFAULT_STATE_DIR = '/var/lib/ipvsd';
/** The package root: the nearest directory above this file with a package.json (from dist/src/ or src/ alike). */
function packageRoot(): string {
  let d = import.meta.dirname;
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}
const root = packageRoot();
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Where the sandbox keeps desired states: the --state-dir given, else .uml/state in the checkout (the guest sees the
 * host's file system, so they outlive the sandbox kernel, and the next sandbox reconciles them back onto its kernel).
 */
export const sandboxStateDir = (cfg: ServerConfig) =>
  cfg.stateDir === DEFAULT_STATE_DIR ? join(root, '.uml', 'state') : resolve(cfg.stateDir);

/** Listens at `at` (host and port, or a unix path) and pipes every connection to the guest. */
function forward(at: { host: string; port: number } | string, hostPort: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(hostPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    if (typeof at === 'string') server.listen(at, () => ok(server));
    else server.listen(at.port, at.host, () => ok(server));
  });
}

/** Runs until SIGTERM/SIGINT (exit 0) or until the guest dies (exit 1). */
export async function runSandboxed(cfg: ServerConfig, log: Logger): Promise<never> {
  log.info('checking the Debian packages of the sandbox (scripts/install-deps.sh)');
  execFileSync('bash', [resolve(root, 'scripts/install-deps.sh'), 'sandbox'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const net = await startSlirpNetwork(GUEST_PORT);
  const flags = [
    '--sandbox',
    'never',
    '--listen',
    `0.0.0.0:${GUEST_PORT}`,
    '--insecure',
    '--unix',
    '',
    '--log-level',
    cfg.logLevel,
    '--max-batch',
    String(cfg.maxBatch),
    '--max-message-bytes',
    String(cfg.maxMessageBytes),
    '--state-dir',
    sandboxStateDir(cfg),
    ...cfg.netns.flatMap((n) => ['--netns', n]),
    ...(cfg.tlsCert ? ['--tls-cert', resolve(cfg.tlsCert), '--tls-key', resolve(cfg.tlsKey)] : []),
    ...(cfg.tlsClientCa ? ['--tls-client-ca', resolve(cfg.tlsClientCa)] : []),
    ...(cfg.authzPolicy ? ['--authz-policy', resolve(cfg.authzPolicy)] : []),
    ...(cfg.auditReads ? ['--audit-reads'] : []),
    ...['--max-concurrent-streams', String(cfg.maxConcurrentStreams), '--max-watchers', String(cfg.maxWatchers)],
    ...(cfg.writeRateLimit
      ? [
          '--write-rate-limit',
          `${cfg.writeRateLimit.perSecond}/s`,
          '--write-rate-burst',
          String(cfg.writeRateLimit.burst),
        ]
      : []),
  ];
  const abort = new AbortController();
  log.warn(
    { kernel: 'user-mode Linux 6.1', listen: cfg.listen, unix: cfg.unix },
    "SANDBOX: this machine's kernel has no IPVS, so ipvsd runs inside a user-mode Linux kernel; " +
      "the rules you make live in that sandbox kernel, not in this machine's",
  );
  const guest = runInUml({
    command: `${net.guestSetup}; exec ${quote(process.execPath)} ${quote(resolve(root, 'dist/src/server/main.js'))} ${flags.map(quote).join(' ')}`,
    cwd: root,
    kernelArgs: [net.kernelArg],
    timeoutMs: 0,
    signal: abort.signal,
    keepOutput: false,
    echo: (s) => {
      process.stdout.write(s);
      if (s.includes('"msg":"ipvsd listening"')) log.info({ addresses: cfg.listen }, 'sandbox ready');
    },
  });

  const listeners: Server[] = [];
  for (const l of cfg.listen) listeners.push(await forward(splitHostPort(l), net.hostPort));
  if (cfg.unix) {
    if (existsSync(cfg.unix)) unlinkSync(cfg.unix);
    listeners.push(await forward(cfg.unix, net.hostPort));
  }
  log.info({ listen: cfg.listen, unix: cfg.unix }, 'sandbox listeners forward to the guest');

  let stopping = false;
  const stop = (code: number) => {
    stopping = true;
    for (const l of listeners) l.close();
    if (cfg.unix && existsSync(cfg.unix)) unlinkSync(cfg.unix);
    abort.abort();
    net.close();
    process.exit(code);
  };
  process.once('SIGTERM', () => stop(0));
  process.once('SIGINT', () => stop(0));
  const r = await guest;
  if (!stopping) log.error({ code: r.code }, 'the sandbox kernel stopped');
  return stop(1) as never;
}
