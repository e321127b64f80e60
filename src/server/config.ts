// Server configuration from flags and environment (a flag wins). Every
// option is listed in USAGE, which --help prints.
import { parseArgs } from 'node:util';

export interface ServerConfig {
  /** TCP listen addresses, host:port; empty for none. */
  listen: string[];
  /** Unix socket path; '' for none. */
  unix: string;
  /** The unix socket file's mode, set after listen; undefined: as the umask leaves it. */
  unixMode?: number;
  /** Its group (name or gid), set after listen; '' to leave the server's. */
  unixGroup: string;
  /** Namespaces requests may name besides the server's own: names, paths, or "*". */
  netns: string[];
  logLevel: string;
  tlsCert: string;
  tlsKey: string;
  /** CA of client certificates: set, it makes TLS mutual. */
  tlsClientCa: string;
  /** Allow a non-loopback TCP listener without TLS. */
  insecure: boolean;
  /** Where to run when this kernel has no IPVS: auto (sandbox if needed), never, always. */
  sandbox: 'auto' | 'never' | 'always';
  maxBatch: number;
  /** Largest request message, bytes. */
  maxMessageBytes: number;
  /** Largest response message, bytes: bigger answers page or come in parts. */
  maxResponseBytes: number;
  /** Prometheus /metrics over plain HTTP at host:port; '' for none. */
  metrics: string;
  /** How often the metrics' poller lists each namespace, ms. */
  metricsIntervalMs: number;
  /** A plain-text listener with only grpc.health.v1 (for Kubernetes' gRPC probes); '' for none. */
  healthListen: string;
  /** The server's own pings: every this many ms (grpc-js polls, busy or idle), to reap dead peers. */
  keepaliveTimeMs: number;
  /** How long such a ping may go unanswered before the connection is dropped. */
  keepaliveTimeoutMs: number;
  /** Client pings sooner than this after the last good one are strikes (keepalive.ts). */
  keepalivePermitMs: number;
  /** Allow client pings at that rate with no call open (else one per 2 h then). */
  keepalivePermitWithoutCalls: boolean;
  /** More strikes than this: GOAWAY ENHANCE_YOUR_CALM "too_many_pings". */
  keepaliveMaxPingStrikes: number;
  /** Where the desired states are kept (one file each); created 0700 if missing. */
  stateDir: string;
  /** How often every desired state is reconciled again, in ms (a drifted kernel is put back within it). */
  reconcilePeriodMs: number;
  /** The least time between two reconciles of one desired state that drift asks for, in ms. */
  reconcileMinIntervalMs: number;
  /** gRFC A43 authorization policy file, watched and reloaded; '' for none (every call allowed). */
  authzPolicy: string;
  /** Audit allowed reads too (writes and denied calls are always audited). */
  auditReads: boolean;
  /** Most streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Most WatchStats and WatchEvents streams open at once, all clients together. */
  maxWatchers: number;
  /** Writes per second one principal may make (a token bucket); undefined: no limit. */
  writeRateLimit?: { perSecond: number; burst: number };
}

export const USAGE = `ipvsd: gRPC control plane for Linux IPVS

  --listen HOST:PORT   TCP listener, repeatable; "" for none    (IPVSD_LISTEN, comma-separated; default 127.0.0.1:50051)
  --unix PATH          unix socket; "" for none                  (IPVSD_UNIX; default /run/ipvsd.sock)
  --unix-mode OCTAL    the socket file's mode, e.g. 0660         (IPVSD_UNIX_MODE; default: as the umask leaves it)
  --unix-group NAME|GID  the socket file's group                 (IPVSD_UNIX_GROUP; default: the server's)
  --netns NAME|PATH|*  namespaces requests may name, repeatable  (IPVSD_NETNS, comma-separated; default: only the server's own)
  --log-level LEVEL    pino level: trace debug info warn error   (IPVSD_LOG_LEVEL; default info)
  --tls-cert FILE      server certificate (PEM); enables TLS     (IPVSD_TLS_CERT)
  --tls-key FILE       its private key (PEM)                     (IPVSD_TLS_KEY)
  --tls-client-ca FILE CA for client certificates: mutual TLS    (IPVSD_TLS_CLIENT_CA)
  --insecure           allow a non-loopback listener without TLS (IPVSD_INSECURE=1)
  --sandbox MODE       auto|never|always: run in user-mode Linux when this kernel has no IPVS (IPVSD_SANDBOX; default never; npm start: auto)
  --max-batch N        most operations per Batch, at most 16384  (IPVSD_MAX_BATCH; default 10000)
  --max-message-bytes N  largest request                         (IPVSD_MAX_MESSAGE_BYTES; default 64 MiB)
  --max-response-bytes N  largest response: bigger ones page or come in parts, 16384..4194304 (IPVSD_MAX_RESPONSE_BYTES; default 1 MiB)
  --metrics HOST:PORT  Prometheus /metrics over HTTP             (IPVSD_METRICS; default off)
  --metrics-interval-ms N  how often the metrics list the kernel, 2000..3600000 (IPVSD_METRICS_INTERVAL_MS; default 2000)
  --health-listen HOST:PORT  plain-text listener serving only grpc.health.v1, for probes (IPVSD_HEALTH_LISTEN; default off)
  --keepalive-time-ms N  the server pings each connection this often, 1000..86400000 (IPVSD_KEEPALIVE_TIME_MS; default 300000)
  --keepalive-timeout-ms N  and drops it if unanswered this long, 1000..600000 (IPVSD_KEEPALIVE_TIMEOUT_MS; default 20000)
  --keepalive-permit-ms N  client pings sooner than this are strikes, 1000..86400000 (IPVSD_KEEPALIVE_PERMIT_MS; default 30000)
  --keepalive-permit-without-calls  permit them with no call open too (IPVSD_KEEPALIVE_PERMIT_WITHOUT_CALLS=1; default: 1 per 2 h)
  --keepalive-max-ping-strikes N  GOAWAY "too_many_pings" after more strikes, 0..100 (IPVSD_KEEPALIVE_MAX_PING_STRIKES; default 2)
  --state-dir DIR      where desired states are kept, one file each (IPVSD_STATE_DIR; default /var/lib/ipvsd)
  --reconcile-period-ms N  every desired state reconciled again this often, 1000..86400000
                       (IPVSD_RECONCILE_PERIOD_MS; default 30000)
  --reconcile-min-interval-ms N  drift seen by a poller reconciles a desired state at most this often, 100..3600000
                       (IPVSD_RECONCILE_MIN_INTERVAL_MS; default 1000)
  --authz-policy FILE  gRFC A43 authorization policy (JSON), watched and reloaded; a bad reload keeps the old one
                       (IPVSD_AUTHZ_POLICY; default none: every client may do everything)
  --audit-reads        audit allowed reads too; writes and denied calls always are (IPVSD_AUDIT_READS=1)
  --max-concurrent-streams N  streams one connection may open at once, 1..100000 (IPVSD_MAX_CONCURRENT_STREAMS; default 250)
  --max-watchers N     WatchStats and WatchEvents streams at once, all clients, 1..1000000 (IPVSD_MAX_WATCHERS; default 2000)
  --write-rate-limit N/s  writes per second per principal; more are RESOURCE_EXHAUSTED (IPVSD_WRITE_RATE_LIMIT; default off)
  --write-rate-burst N  writes one principal may make at once before the rate applies (IPVSD_WRITE_RATE_BURST; default N of N/s, at least 1)
  --help

SIGHUP rereads the --tls-* files for new connections (a bad set keeps the old one) and the --authz-policy file;
SIGTERM, SIGINT stop.`;

/** Most operations per Batch: 16384 results of at most 256 bytes each stay under 4 MiB. */
export const MAX_BATCH = 16384;

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' {
  const { values: f } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: 'string', multiple: true },
      unix: { type: 'string' },
      netns: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      insecure: { type: 'boolean' },
      sandbox: { type: 'string' },
      'max-batch': { type: 'string' },
      'max-message-bytes': { type: 'string' },
      'max-response-bytes': { type: 'string' },
      metrics: { type: 'string' },
      'metrics-interval-ms': { type: 'string' },
      'health-listen': { type: 'string' },
      'keepalive-time-ms': { type: 'string' },
      'keepalive-timeout-ms': { type: 'string' },
      'keepalive-permit-ms': { type: 'string' },
      'keepalive-permit-without-calls': { type: 'boolean' },
      'keepalive-max-ping-strikes': { type: 'string' },
      'state-dir': { type: 'string' },
      'reconcile-period-ms': { type: 'string' },
      'reconcile-min-interval-ms': { type: 'string' },
      'authz-policy': { type: 'string' },
      'audit-reads': { type: 'boolean' },
      'unix-mode': { type: 'string' },
      'unix-group': { type: 'string' },
      'max-concurrent-streams': { type: 'string' },
      'max-watchers': { type: 'string' },
      'write-rate-limit': { type: 'string' },
      'write-rate-burst': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (f.help) return 'help';
  // Never by default: a production host without IPVS must fail loudly, not serve a throwaway kernel.
  const sandbox = f.sandbox ?? env.IPVSD_SANDBOX ?? 'never';
  if (sandbox !== 'auto' && sandbox !== 'never' && sandbox !== 'always')
    throw new Error(`--sandbox: ${sandbox} is not auto, never or always`);
  const int = (name: string, v: string | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: ${v} is not a positive integer`);
    return n;
  };
  const within = (name: string, v: string | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${name}: ${v} is not an integer in ${lo}..${hi}`);
    return n;
  };
  const c: ServerConfig = {
    listen: f.listen?.flatMap((l) => list(l) ?? []) ?? list(env.IPVSD_LISTEN) ?? ['127.0.0.1:50051'],
    unix: f.unix ?? env.IPVSD_UNIX ?? '/run/ipvsd.sock',
    unixMode: unixMode(f['unix-mode'] ?? env.IPVSD_UNIX_MODE),
    unixGroup: unixGroup(f['unix-group'] ?? env.IPVSD_UNIX_GROUP ?? ''),
    netns: f.netns?.flatMap((n) => list(n) ?? []) ?? list(env.IPVSD_NETNS) ?? [],
    logLevel: f['log-level'] ?? env.IPVSD_LOG_LEVEL ?? 'info',
    tlsCert: f['tls-cert'] ?? env.IPVSD_TLS_CERT ?? '',
    tlsKey: f['tls-key'] ?? env.IPVSD_TLS_KEY ?? '',
    tlsClientCa: f['tls-client-ca'] ?? env.IPVSD_TLS_CLIENT_CA ?? '',
    insecure: f.insecure ?? env.IPVSD_INSECURE === '1',
    sandbox,
    maxBatch: int('max-batch', f['max-batch'] ?? env.IPVSD_MAX_BATCH, 10_000),
    maxMessageBytes: int('max-message-bytes', f['max-message-bytes'] ?? env.IPVSD_MAX_MESSAGE_BYTES, 64 * 1024 * 1024),
    maxResponseBytes: int('max-response-bytes', f['max-response-bytes'] ?? env.IPVSD_MAX_RESPONSE_BYTES, 1024 * 1024),
    metrics: f.metrics ?? env.IPVSD_METRICS ?? '',
    // The kernel's estimator period: rates change no more often.
    metricsIntervalMs: within(
      'metrics-interval-ms',
      f['metrics-interval-ms'] ?? env.IPVSD_METRICS_INTERVAL_MS,
      2000,
      2000,
      3_600_000,
    ),
    healthListen: f['health-listen'] ?? env.IPVSD_HEALTH_LISTEN ?? '',
    // Keepalive (README "Keepalive"): clients ping after 60 s idle, so a 30 s permit leaves them twice the room;
    // the server's own ping every 5 min stays under common NAT and load balancer idle cuts (AWS NLB 350 s,
    // Google Cloud 600 s) and reaps a vanished peer's streams in ~5 min instead of TCP's hours.
    keepaliveTimeMs: within(
      'keepalive-time-ms',
      f['keepalive-time-ms'] ?? env.IPVSD_KEEPALIVE_TIME_MS,
      300_000,
      1000,
      86_400_000,
    ),
    keepaliveTimeoutMs: within(
      'keepalive-timeout-ms',
      f['keepalive-timeout-ms'] ?? env.IPVSD_KEEPALIVE_TIMEOUT_MS,
      20_000,
      1000,
      600_000,
    ),
    keepalivePermitMs: within(
      'keepalive-permit-ms',
      f['keepalive-permit-ms'] ?? env.IPVSD_KEEPALIVE_PERMIT_MS,
      30_000,
      1000,
      86_400_000,
    ),
    keepalivePermitWithoutCalls:
      f['keepalive-permit-without-calls'] ?? env.IPVSD_KEEPALIVE_PERMIT_WITHOUT_CALLS === '1',
    keepaliveMaxPingStrikes: within(
      'keepalive-max-ping-strikes',
      f['keepalive-max-ping-strikes'] ?? env.IPVSD_KEEPALIVE_MAX_PING_STRIKES,
      2,
      0,
      100,
    ),
    stateDir: f['state-dir'] ?? env.IPVSD_STATE_DIR ?? '/var/lib/ipvsd',
    // kube-proxy's and merlin's order of period: a listing of the namespace per period costs little at rest.
    reconcilePeriodMs: within(
      'reconcile-period-ms',
      f['reconcile-period-ms'] ?? env.IPVSD_RECONCILE_PERIOD_MS,
      30_000,
      1000,
      86_400_000,
    ),
    // kube-proxy's minSyncPeriod default: a writer fighting a desired state gets one correction a second at most.
    reconcileMinIntervalMs: within(
      'reconcile-min-interval-ms',
      f['reconcile-min-interval-ms'] ?? env.IPVSD_RECONCILE_MIN_INTERVAL_MS,
      1000,
      100,
      3_600_000,
    ),
    authzPolicy: f['authz-policy'] ?? env.IPVSD_AUTHZ_POLICY ?? '',
    auditReads: f['audit-reads'] ?? env.IPVSD_AUDIT_READS === '1',
    // Go's HTTP/2 server's default: room for a client's watchers, not for one connection to hold the server.
    maxConcurrentStreams: within(
      'max-concurrent-streams',
      f['max-concurrent-streams'] ?? env.IPVSD_MAX_CONCURRENT_STREAMS,
      250,
      1,
      100_000,
    ),
    // Twice bench/scale.ts's 1000 watchers; each holds at most one tick (watch.ts).
    maxWatchers: within('max-watchers', f['max-watchers'] ?? env.IPVSD_MAX_WATCHERS, 2000, 1, 1_000_000),
    writeRateLimit: writeRate(
      f['write-rate-limit'] ?? env.IPVSD_WRITE_RATE_LIMIT,
      f['write-rate-burst'] ?? env.IPVSD_WRITE_RATE_BURST,
    ),
  };
  if (!c.unix && (c.unixMode !== undefined || c.unixGroup))
    throw new Error('--unix-mode and --unix-group need a --unix socket');
  // Every stock gRPC client refuses a message over 4 MiB; a Batch's results must fit too (MAX_BATCH).
  if (c.maxResponseBytes < 16384 || c.maxResponseBytes > 4 * 1024 * 1024) {
    throw new Error(
      `--max-response-bytes: ${c.maxResponseBytes} is not in 16384..4194304 (4 MiB, the stock gRPC clients' limit)`,
    );
  }
  if (c.maxBatch > MAX_BATCH)
    throw new Error(
      `--max-batch: ${c.maxBatch} is over ${MAX_BATCH} (a response of that many failures would pass 4 MiB)`,
    );
  if (!c.stateDir) throw new Error('--state-dir: must not be empty');
  if (c.metrics) splitHostPort(c.metrics);
  if (c.healthListen) splitHostPort(c.healthListen);
  if (!!c.tlsCert !== !!c.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  if (c.tlsClientCa && !c.tlsCert) throw new Error('--tls-client-ca needs --tls-cert and --tls-key');
  for (const l of c.listen) {
    const { host } = splitHostPort(l);
    if (!isLoopback(host) && !c.tlsCert && !c.insecure) {
      throw new Error(
        `--listen ${l} is not loopback: give --tls-cert/--tls-key, or --insecure to serve it in plain text`,
      );
    }
  }
  return c;
}

/** --unix-mode: permission bits in octal ("660", "0660"); the sticky and set-id bits mean nothing on a socket. */
function unixMode(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(v)) throw new Error(`--unix-mode: ${v} is not an octal mode 000..777, e.g. 0660`);
  return Number.parseInt(v, 8);
}

/** --unix-group: a group's name or a gid (resolved at start: the group file may change until then). */
function unixGroup(v: string): string {
  if (v && !/^\d+$/.test(v) && !/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(v))
    throw new Error(`--unix-group: ${JSON.stringify(v)} is neither a group name nor a gid`);
  if (/^\d+$/.test(v) && Number(v) > 0xfffffffe) throw new Error(`--unix-group: ${v} is not a gid (0..4294967294)`);
  return v;
}

/** --write-rate-limit "N/s" (N > 0, fractions allowed) and its --write-rate-burst. */
function writeRate(rate: string | undefined, burst: string | undefined): ServerConfig['writeRateLimit'] {
  if (rate === undefined || rate === '') {
    if (burst !== undefined) throw new Error('--write-rate-burst needs --write-rate-limit');
    return undefined;
  }
  const m = /^(\d+(?:\.\d+)?)\/s$/.exec(rate);
  const perSecond = m ? Number(m[1]) : Number.NaN;
  if (!(perSecond > 0 && perSecond <= 1_000_000))
    throw new Error(`--write-rate-limit: ${rate} is not a rate N/s with 0 < N <= 1000000, e.g. 10/s`);
  const b = burst === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(burst);
  if (!Number.isInteger(b) || b < 1 || b > 1_000_000)
    throw new Error(`--write-rate-burst: ${burst} is not an integer in 1..1000000`);
  return { perSecond, burst: b };
}

/** The host and port of host:port or [v6]:port. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(listen) ?? /^([^:]*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen ${listen} is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
