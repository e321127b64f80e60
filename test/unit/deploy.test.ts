// The shipped deployment files agree with the server: the DaemonSet's
// arguments parse as ipvsd's own flags, its probes hit the health-only
// listener, it asks for NET_ADMIN alone; the Dockerfile copies what exists
// and runs what the build makes; the systemd unit's command line parses too,
// never the sandbox, with NET_ADMIN alone (SYS_ADMIN only in its netns drop-in).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';

const root = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(root, p), 'utf8');

describe('npm start', () => {
  it('asks for the sandbox fallback, which the server binary alone never takes', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, in a plain string on purpose
    const start = 'IPVSD_SANDBOX=${IPVSD_SANDBOX:-auto} node dist/src/server/main.js';
    expect(JSON.parse(read('package.json')).scripts.start).toBe(start);
    expect((parseConfig([], {}) as ServerConfig).sandbox).toBe('never');
    expect((parseConfig([], { IPVSD_SANDBOX: 'auto' }) as ServerConfig).sandbox).toBe('auto');
  });
});

describe('deploy/kubernetes', () => {
  const ds = parseAllDocuments(read('deploy/kubernetes/daemonset.yaml'))[0]!.toJS();
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];

  it('runs on the host network with NET_ADMIN only', () => {
    expect(ds.kind).toBe('DaemonSet');
    expect(pod.hostNetwork).toBe(true);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
    expect(c.resources.limits.memory).toBeDefined();
  });

  it('passes arguments ipvsd accepts: mutual TLS on the node address, health and metrics listeners', () => {
    const cfg = parseConfig(c.args, {}) as ServerConfig;
    expect(cfg).toMatchObject({
      listen: ['0.0.0.0:50051'],
      unix: '',
      tlsClientCa: '/etc/ipvsd/tls/ca.crt',
      healthListen: '0.0.0.0:50052',
      metrics: '0.0.0.0:9550',
    });
  });

  it('probes the health-only listener with native gRPC probes', () => {
    const port = Number(
      c.args
        .find((a: string) => a.startsWith('--health-listen='))
        .split(':')
        .pop(),
    );
    expect(c.livenessProbe.grpc.port).toBe(port);
    expect(c.readinessProbe.grpc).toEqual({ port, service: 'ipvs.v1.IpvsService' });
  });

  it('has a headless Service over the same pods', () => {
    const svc = parseAllDocuments(read('deploy/kubernetes/service.yaml'))[0]!.toJS();
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.selector).toEqual(ds.spec.selector.matchLabels);
  });
});

describe('Dockerfile', () => {
  const df = read('Dockerfile');
  it('copies only what exists, and runs files the build makes', () => {
    for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(existsSync(resolve(root, src)), src).toBe(true);
    }
    for (const m of df.matchAll(/"(dist\/[^"]+\.js)"/g)) expect(existsSync(resolve(root, m[1]!)), m[1]).toBe(true);
    // The whole build, not tsc alone: the image's ipvsctl runs the bundle it makes.
    expect(df).toMatch(/^RUN npm run build$/m);
    expect(df).toMatch(/^COPY bin bin$/m);
    expect(df).toContain('IPVSD_SANDBOX=never');
    expect(df).toMatch(/^HEALTHCHECK .*healthcheck\.js/m);
  });
});

describe('deploy/systemd', () => {
  /** A unit file's settings: key -> every value given, in order. */
  const unit = (p: string) => {
    const keys = new Map<string, string[]>();
    for (const line of read(p).split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
    }
    return keys;
  };
  const u = unit('deploy/systemd/ipvsd.service');
  const one = (k: string) => u.get(k)?.join(' ');

  it('runs the built server with flags ipvsd accepts, never the sandbox, its socket in its runtime directory', () => {
    const [node, main, ...args] = one('ExecStart')!.split(' ');
    expect([node, main]).toEqual(['/usr/bin/node', '/usr/lib/ipvsd/dist/src/server/main.js']);
    // What the build makes of src/server/main.ts.
    expect(existsSync(resolve(root, main!.replace('/usr/lib/ipvsd/dist/', '').replace(/\.js$/, '.ts')))).toBe(true);
    const env = Object.fromEntries(u.get('Environment')!.map((e) => e.split('=', 2) as [string, string]));
    // The flag wins over IPVSD_SANDBOX from /etc/default/ipvsd.
    const cfg = parseConfig(args, { ...env, IPVSD_SANDBOX: 'auto' }) as ServerConfig;
    expect(cfg.sandbox).toBe('never');
    expect(cfg.unix).toBe(`/run/${one('RuntimeDirectory')}/ipvsd.sock`);
    // Desired states in the state directory systemd makes (and keeps writable under ProtectSystem=strict).
    expect(cfg.stateDir).toBe(`/var/lib/${one('StateDirectory')}`);
    expect(one('StateDirectoryMode')).toBe('0700');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('Restart')).toBe('on-failure');
  });

  it('has CAP_NET_ADMIN alone, SYS_ADMIN only in the netns drop-in, and is hardened', () => {
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_ADMIN');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_ADMIN');
    const netns = unit('deploy/systemd/ipvsd.service.d/netns.conf');
    expect(netns.get('CapabilityBoundingSet')).toEqual(['CAP_NET_ADMIN CAP_SYS_ADMIN']);
    expect(netns.get('RestrictNamespaces')).toEqual(['net']);
    expect(u.get('RestrictNamespaces')).toEqual(['yes']);
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      ProtectKernelTunables: 'yes',
      ReadWritePaths: '-/proc/sys/net/ipv4/vs',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      SystemCallArchitectures: 'native',
      LockPersonality: 'yes',
      // V8's JIT.
      MemoryDenyWriteExecute: 'no',
    }))
      expect(one(k), k).toBe(v);
  });
});
