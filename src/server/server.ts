// The gRPC server: IpvsService, health (NOT_SERVING without IPVS), and
// reflection, on the configured listeners, with the keepalive policy
// (keepalive.ts), TLS that reloads (certificates.ts), and every call of the
// three authorized and audited (guard.ts, --authz-policy); and its orderly shutdown.
// The desired states in --state-dir are loaded and reconciled before anything
// listens, so that health's first SERVING finds the kernel as they say.
import { connect } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { file_grpc_health_v1_health } from '../../gen/ts/grpc/health/v1/health_pb.js';
import { file_ipvs_v1_ipvs, IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { PolicyFile } from '../authz/policy-file.js';
import { DesiredRegistry } from '../desired/registry.js';
import { Probers } from '../health/probers.js';
import { KernelError } from '../ipvs/index.js';
import { grpcDefinition, reflectionPackage, type ReflectionPackage } from '../rpc/definition.js';
import { ReloadableTls } from './certificates.js';
import { isLoopback, splitHostPort, type ServerConfig } from './config.js';
import { decodeSpec } from './convert-desired.js';
import { Guard, guardedServer } from './guard.js';
import { Calls } from './handler.js';
import { ipvsService } from './ipvs-service.js';
import { enforcePingPolicy, keepaliveOptions } from './keepalive.js';
import { startMetrics } from './metrics.js';
import { ANY_NAMED, Namespaces } from './namespaces.js';
import { StatsHub } from './stats-hub.js';
import { RpcError } from './status.js';
import { UnixSocket } from './unix-socket.js';
import { WatcherSlots } from './watchers.js';
import { WriteLimiter } from './rate-limit.js';

export interface RunningServer {
  /** Bound addresses: "127.0.0.1:50051", "unix:/run/ipvsd.sock". */
  addresses: string[];
  /** Where /metrics is served, if it is. */
  metricsAddress?: string;
  /** The health-only listener, if there is one. */
  healthAddress?: string;
  hub: StatsHub;
  /** Whether this kernel has IPVS: health says SERVING only then. */
  serving: boolean;
  /** Rereads the TLS files for new connections (SIGHUP): false, and logged, if they were bad or there is no TLS. */
  reloadTls(): boolean;
  /** Rereads the --authz-policy file now (SIGHUP; it is watched too): false if unchanged, refused or none. */
  reloadPolicy(): boolean;
  /** Ends streams with UNAVAILABLE, stops listening, closes every handle. */
  shutdown(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 5000;

/**
 * What reflection describes: the standard health service (grpc-proto's
 * grpc/health/v1/health.proto, vendored in third_party/) and IpvsService,
 * both from their generated descriptors.
 */
export const reflected = (): ReflectionPackage => reflectionPackage(file_grpc_health_v1_health, file_ipvs_v1_ipvs);

/** Removes a unix socket left by a server that died; refuses if one is still listening there. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
  if (alive) throw new Error(`${path}: another server is listening there`);
  unlinkSync(path);
}

/** Listens at `addr`; resolves with the bound port. */
function bind(server: Server, addr: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(addr, creds, (err, port) =>
      err ? reject(new Error(`listen ${addr}: ${err.message}`)) : resolve(port),
    );
  });
}

export async function startServer(cfg: ServerConfig, log: Logger): Promise<RunningServer> {
  // First: a bad TLS file or authorization policy fails the start before anything listens.
  const tls = cfg.tlsCert ? new ReloadableTls(cfg, log) : undefined;
  const policy = cfg.authzPolicy ? new PolicyFile(cfg.authzPolicy, log) : undefined;
  const namespaces = new Namespaces(cfg.netns);
  const hub = new StatsHub(namespaces, log);
  const calls = new Calls();
  const server = new Server({
    'grpc.max_receive_message_length': cfg.maxMessageBytes,
    'grpc.max_concurrent_streams': cfg.maxConcurrentStreams,
    ...keepaliveOptions(cfg),
  });
  const watchers = new WatcherSlots(cfg.maxWatchers);

  let serving = true;
  try {
    namespaces.handle('');
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    serving = false;
    log.error({ err: e.message }, 'IPVS is not available: health reports NOT_SERVING and every call fails');
  }

  // Health checks probe from each desired state's own namespace (a prober process lives in it).
  const probers = new Probers();
  // A file that does not load stops the start (the store's StoreError names it and the recovery).
  const desired = await DesiredRegistry.open(cfg.stateDir, {
    prober: (ns) => probers.of(namespaces.resolve(ns)),
    handle: (ns) => namespaces.handle(ns),
    namespaceKey: (ns) => {
      try {
        return namespaces.resolve(ns);
      } catch {
        return ns;
      }
    },
    decode: decodeSpec,
    log,
    minReconcileIntervalMs: cfg.reconcileMinIntervalMs,
  });
  if (serving) {
    const states = await desired.reconcileAll('start');
    const inSync = states.filter((s) => s.status?.inSync).length;
    log.info({ stateDir: cfg.stateDir, states: states.length, inSync }, 'desired states reconciled');
  }
  const stopReconciling = serving ? desired.every(cfg.reconcilePeriodMs) : () => {};
  // Every listing of the shared pollers is also a check for drift.
  const stopDriftChecks = hub.observe((ns, snap) => desired.listed(ns, snap.services));

  // Metrics follow the server's own namespace and every one allowed by name.
  const metrics = cfg.metrics
    ? await startMetrics(
        cfg.metrics,
        ['', ...cfg.netns.filter((n) => n !== ANY_NAMED)],
        hub,
        log,
        desired,
        cfg.metricsIntervalMs,
      )
    : undefined;
  let unix: UnixSocket | undefined;
  const guard = new Guard({
    log,
    policy: () => policy?.policy,
    tls: !!cfg.tlsCert,
    auditReads: cfg.auditReads,
    desiredNamespace: (name) => desired.get(name)?.spec.namespace,
    unixPeer: (peer) => unix?.peer(peer),
    writeLimit: cfg.writeRateLimit && new WriteLimiter(cfg.writeRateLimit.perSecond, cfg.writeRateLimit.burst),
  });
  server.addService(
    grpcDefinition(IpvsService),
    ipvsService({
      log,
      calls,
      namespaces,
      hub,
      maxBatch: cfg.maxBatch,
      maxResponseBytes: cfg.maxResponseBytes,
      desired,
      observe: metrics?.observe,
      guard,
      watchers,
    }),
  );
  const health = new HealthImplementation({
    '': serving ? 'SERVING' : 'NOT_SERVING',
    [IpvsService.typeName]: serving ? 'SERVING' : 'NOT_SERVING',
  });
  // Health and reflection answer on the same listeners, so the same policy covers them (as grpc-go's interceptors do).
  health.addToServer(guardedServer(server, guard, watchers) as Server);
  new ReflectionService(reflected()).addToServer(guardedServer(server, guard));

  const creds = tls?.credentials ?? ServerCredentials.createInsecure();
  const addresses: string[] = [];
  for (const l of cfg.listen) {
    const port = await bind(server, l, creds);
    addresses.push(l.replace(/:0$/, `:${port}`));
  }
  if (cfg.unix) {
    await clearStaleSocket(cfg.unix);
    unix = await UnixSocket.listen(cfg.unix, server, creds, { mode: cfg.unixMode, group: cfg.unixGroup, log });
    addresses.push(`unix:${cfg.unix}`);
  }
  // Health alone, in plain text, for probes that speak no TLS (Kubernetes' grpc probes).
  let healthServer: Server | undefined;
  let healthAddress: string | undefined;
  if (cfg.healthListen) {
    healthServer = new Server({ 'grpc.max_concurrent_streams': cfg.maxConcurrentStreams, ...keepaliveOptions(cfg) });
    health.addToServer(healthServer);
    const port = await bind(healthServer, cfg.healthListen, ServerCredentials.createInsecure());
    healthAddress = cfg.healthListen.replace(/:0$/, `:${port}`);
    enforcePingPolicy(healthServer, cfg, log);
  }
  enforcePingPolicy(server, cfg, log);
  if (!policy) {
    for (const l of cfg.listen.filter((l) => !isLoopback(splitHostPort(l).host)))
      log.warn({ listen: l }, 'no --authz-policy: every client that reaches this listener may make every call');
  }
  log.info(
    {
      addresses,
      healthAddress,
      tls: !!cfg.tlsCert,
      mutualTls: !!cfg.tlsClientCa,
      netns: cfg.netns,
      serving,
      authzPolicy: policy && { file: policy.file, name: policy.policy.name },
    },
    'ipvsd listening',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      log.info({ streams: calls.size }, 'shutting down');
      stopReconciling();
      stopDriftChecks();
      policy?.close();
      desired.close();
      await probers.close();
      const reason = new RpcError(status.UNAVAILABLE, 'the server is shutting down');
      await metrics?.close();
      healthServer?.forceShutdown();
      hub.close(reason);
      calls.abortAll(reason);
      unix?.stop();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      namespaces.closeAll();
      if (cfg.unix && existsSync(cfg.unix)) unlinkSync(cfg.unix);
      log.info('stopped');
    })());
  const reloadTls = () => {
    if (tls) return tls.reload();
    log.warn('SIGHUP: no --tls-cert to reload');
    return false;
  };
  const reloadPolicy = () => policy?.reload() ?? false;
  return {
    addresses,
    metricsAddress: metrics?.address,
    healthAddress,
    hub,
    serving,
    reloadTls,
    reloadPolicy,
    shutdown,
  };
}
