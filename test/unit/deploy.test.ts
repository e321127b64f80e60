// The shipped deployment files agree with the server: the DaemonSet's
// arguments parse as ipvsd's own flags, its probes hit the health-only
// listener, it asks for NET_ADMIN alone; the Dockerfile copies what exists
// and runs what the build makes.
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
    expect(df).toContain('IPVSD_SANDBOX=never');
    expect(df).toMatch(/^HEALTHCHECK .*healthcheck\.js/m);
  });
});
