// The server's pure parts: the errno table, configuration rules, field
// paths, interval clamping and the namespace allow list.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { KernelError, ValidationError } from '../../src/ipvs/index.js';
import { parseConfig } from '../../src/server/config.js';
import { fieldPath } from '../../src/server/convert.js';
import { Namespaces } from '../../src/server/namespaces.js';
import { clampInterval } from '../../src/server/stats-hub.js';
import { RpcError, statusOfErrno, toStatus } from '../../src/server/status.js';

describe('the errno -> gRPC status table', () => {
  it.each([
    ['EEXIST', status.ALREADY_EXISTS],
    ['ENOENT', status.NOT_FOUND],
    ['ESRCH', status.NOT_FOUND],
    ['ENODEV', status.NOT_FOUND],
    ['EINVAL', status.INVALID_ARGUMENT],
    ['EAFNOSUPPORT', status.INVALID_ARGUMENT],
    ['EMSGSIZE', status.INVALID_ARGUMENT],
    ['ERANGE', status.OUT_OF_RANGE],
    ['EPERM', status.PERMISSION_DENIED],
    ['EACCES', status.PERMISSION_DENIED],
    ['ENOPROTOOPT', status.FAILED_PRECONDITION],
    ['EOPNOTSUPP', status.FAILED_PRECONDITION],
    ['EBUSY', status.UNAVAILABLE],
    ['EAGAIN', status.UNAVAILABLE],
    ['EBADF', status.UNAVAILABLE],
    ['ENOMEM', status.RESOURCE_EXHAUSTED],
    ['ENOBUFS', status.RESOURCE_EXHAUSTED],
    ['ETIMEDOUT', status.DEADLINE_EXCEEDED],
    ['EINTR', status.ABORTED],
    ['EBADMSG', status.INTERNAL],
    ['EIO', status.INTERNAL],
    ['EXDEV', status.INTERNAL],
  ] as const)('%s is %s', (errno, code) => {
    expect(statusOfErrno(errno)).toBe(code);
    const st = toStatus(KernelError.of('newService tcp 192.0.2.1:80', errno, 'why'));
    expect(st.code).toBe(code);
    expect(st.metadata.get('ipvs-errno')).toEqual([errno]);
    expect(st.metadata.get('ipvs-operation')).toEqual(['newService tcp 192.0.2.1:80']);
    expect(st.details).toBe(`newService tcp 192.0.2.1:80: ${errno}: why`);
  });

  it('a refused model is INVALID_ARGUMENT naming the request field', () => {
    const st = toStatus(
      new ValidationError('newService', 'port', '70000 is not an integer in 0..65535', 'service'),
      () => 'service.id.port',
    );
    expect(st.code).toBe(status.INVALID_ARGUMENT);
    expect(st.metadata.get('ipvs-field')).toEqual(['service.id.port']);
    expect(st.metadata.get('ipvs-errno')).toEqual(['EINVAL']);
  });

  it('hides an unexpected error behind INTERNAL', () => {
    const st = toStatus(new TypeError('secret detail'));
    expect(st).toMatchObject({ code: status.INTERNAL, internal: true });
    expect(st.details).not.toContain('secret');
  });

  it("keeps a server error's own status", () => {
    expect(toStatus(new RpcError(status.PERMISSION_DENIED, 'no', 'namespace'))).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'no',
    });
  });
});

describe('configuration', () => {
  const parse = (argv: string[], env = {}) => parseConfig(argv, env);
  it('listens on 127.0.0.1:50051 and /run/ipvsd.sock by default', () => {
    expect(parse([])).toMatchObject({
      listen: ['127.0.0.1:50051'],
      unix: '/run/ipvsd.sock',
      netns: [],
      sandbox: 'never',
      insecure: false,
    });
  });
  it('takes the environment, and flags over it', () => {
    expect(parse([], { IPVSD_LISTEN: '127.0.0.2:1,[::1]:2', IPVSD_NETNS: 'a,b' })).toMatchObject({
      listen: ['127.0.0.2:1', '[::1]:2'],
      netns: ['a', 'b'],
    });
    expect(parse(['--listen', '127.0.0.1:3'], { IPVSD_LISTEN: '127.0.0.2:1' })).toMatchObject({
      listen: ['127.0.0.1:3'],
    });
  });
  it("keeps every response under the stock clients' 4 MiB: 1 MiB parts, 10000 operations per Batch", () => {
    expect(parse([])).toMatchObject({ maxResponseBytes: 1024 * 1024, maxBatch: 10_000 });
    expect(parse([], { IPVSD_MAX_RESPONSE_BYTES: '65536' })).toMatchObject({ maxResponseBytes: 65536 });
  });
  it('lists for the metrics every 2 s unless told less often (never faster than the estimator, at most hourly)', () => {
    expect(parse([])).toMatchObject({ metricsIntervalMs: 2000 });
    expect(parse(['--metrics-interval-ms', '30000'])).toMatchObject({ metricsIntervalMs: 30_000 });
    expect(parse([], { IPVSD_METRICS_INTERVAL_MS: '15000' })).toMatchObject({ metricsIntervalMs: 15_000 });
    expect(() => parse(['--metrics-interval-ms', '1000'])).toThrow(
      '--metrics-interval-ms: 1000 is not an integer in 2000..3600000',
    );
    expect(() => parse(['--metrics-interval-ms', '3600001'])).toThrow(/not an integer in 2000\.\.3600000/);
  });
  it('keeps desired states in /var/lib/ipvsd unless --state-dir or IPVSD_STATE_DIR says otherwise', () => {
    expect(parse([])).toMatchObject({ stateDir: '/var/lib/ipvsd' });
    expect(parse([], { IPVSD_STATE_DIR: '/srv/a' })).toMatchObject({ stateDir: '/srv/a' });
    expect(parse(['--state-dir', '/srv/b'], { IPVSD_STATE_DIR: '/srv/a' })).toMatchObject({ stateDir: '/srv/b' });
    expect(() => parse(['--state-dir', ''])).toThrow(/must not be empty/);
  });
  it('refuses a non-loopback listener without TLS unless --insecure', () => {
    expect(() => parse(['--listen', '0.0.0.0:50051'])).toThrow(/not loopback/);
    expect(parse(['--listen', '0.0.0.0:50051', '--insecure'])).toMatchObject({ insecure: true });
    expect(parse(['--listen', '[::]:1', '--tls-cert', 'c', '--tls-key', 'k'])).toMatchObject({ tlsCert: 'c' });
  });
  it('refuses half a TLS configuration and bad values', () => {
    expect(() => parse(['--tls-cert', 'c'])).toThrow(/go together/);
    expect(() => parse(['--tls-client-ca', 'ca'])).toThrow(/needs --tls-cert/);
    expect(() => parse(['--sandbox', 'maybe'])).toThrow(/auto, never or always/);
    expect(() => parse(['--max-batch', '0'])).toThrow(/positive integer/);
    expect(() => parse(['--max-batch', '16385'])).toThrow(/over 16384/);
    expect(() => parse(['--max-response-bytes', String(4 * 1024 * 1024 + 1)])).toThrow(/4 MiB/);
    expect(() => parse(['--max-response-bytes', '1000'])).toThrow(/16384\.\.4194304/);
    expect(() => parse(['--listen', 'nohost'])).toThrow(/HOST:PORT/);
    expect(() => parse(['--bogus'])).toThrow();
  });
  it("sets the unix socket file's mode and group only when asked, and only with a socket", () => {
    expect(parse([])).toMatchObject({ unixMode: undefined, unixGroup: '' });
    expect(parse(['--unix-mode', '0660', '--unix-group', 'ipvsd'])).toMatchObject({
      unixMode: 0o660,
      unixGroup: 'ipvsd',
    });
    expect(parse([], { IPVSD_UNIX_MODE: '600', IPVSD_UNIX_GROUP: '1001' })).toMatchObject({
      unixMode: 0o600,
      unixGroup: '1001',
    });
    expect(() => parse(['--unix-mode', '0860'])).toThrow(/--unix-mode: 0860 is not an octal mode 000\.\.777/);
    expect(() => parse(['--unix-mode', '4770'])).toThrow(/not an octal mode/);
    expect(() => parse(['--unix-mode', 'rw'])).toThrow(/not an octal mode/);
    expect(() => parse(['--unix-group', 'a b'])).toThrow(/neither a group name nor a gid/);
    expect(() => parse(['--unix-group', '4294967295'])).toThrow(/not a gid/);
    expect(() => parse(['--unix', '', '--unix-mode', '0660'])).toThrow(/need a --unix socket/);
  });
  it('limits streams per connection (250), watchers (2000), and writes per principal only when asked', () => {
    expect(parse([])).toMatchObject({ maxConcurrentStreams: 250, maxWatchers: 2000, writeRateLimit: undefined });
    expect(parse(['--max-concurrent-streams', '100', '--max-watchers', '5'])).toMatchObject({
      maxConcurrentStreams: 100,
      maxWatchers: 5,
    });
    expect(parse(['--write-rate-limit', '10/s'])).toMatchObject({ writeRateLimit: { perSecond: 10, burst: 10 } });
    expect(parse(['--write-rate-limit', '0.5/s'])).toMatchObject({ writeRateLimit: { perSecond: 0.5, burst: 1 } });
    expect(parse([], { IPVSD_WRITE_RATE_LIMIT: '2/s', IPVSD_WRITE_RATE_BURST: '20' })).toMatchObject({
      writeRateLimit: { perSecond: 2, burst: 20 },
    });
    expect(() => parse(['--write-rate-limit', '10'])).toThrow(/not a rate N\/s/);
    expect(() => parse(['--write-rate-limit', '0/s'])).toThrow(/not a rate N\/s/);
    expect(() => parse(['--write-rate-limit', '5/s', '--write-rate-burst', '0'])).toThrow(/write-rate-burst: 0/);
    expect(() => parse(['--write-rate-burst', '5'])).toThrow(/needs --write-rate-limit/);
    expect(() => parse(['--max-watchers', '0'])).toThrow(/1\.\.1000000/);
    expect(() => parse(['--max-concurrent-streams', '100001'])).toThrow(/1\.\.100000/);
  });
});

describe('request field paths of refused core fields', () => {
  it.each([
    ['service', 'port', true, 'service.id.port'],
    ['service', 'schedName', true, 'service.sched_name'],
    ['service', 'port', false, 'service.port'],
    ['destination', 'connectionFlags', false, 'destination.forwarding_method'],
    ['destination', 'addressFamily', false, 'destination.address_family'],
    ['config', 'timeoutTcpFin', false, 'config.timeout_tcp_fin'],
  ] as const)('%s %s (nested %s) is %s', (subject, field, nested, path) => {
    expect(fieldPath(subject, field, nested)).toBe(path);
  });
});

describe('stats intervals', () => {
  it('default to 2 s, are raised to 2 s unless fast is allowed (100 ms), lowered to 1 h', () => {
    expect(clampInterval(0, false)).toBe(2000);
    expect(clampInterval(10, false)).toBe(2000);
    expect(clampInterval(10, true)).toBe(100);
    expect(clampInterval(5000, false)).toBe(5000);
    expect(clampInterval(1e9, true)).toBe(3_600_000);
  });
});

describe('the namespace allow list', () => {
  it("always allows the server's own, and only listed others", () => {
    const n = new Namespaces(['blue', '/proc/1/ns/net']);
    expect(n.resolve('')).toBe('');
    expect(n.resolve('blue')).toBe('/run/netns/blue');
    expect(n.resolve('/run/netns/blue')).toBe('/run/netns/blue');
    expect(n.resolve('/proc/1/ns/net')).toBe('/proc/1/ns/net');
    expect(() => n.resolve('green')).toThrow(expect.objectContaining({ code: status.PERMISSION_DENIED }));
    expect(() => n.resolve('../x')).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
  });
  it('"*" allows every name under /run/netns, not other paths', () => {
    const n = new Namespaces(['*']);
    expect(n.resolve('green')).toBe('/run/netns/green');
    expect(() => n.resolve('/proc/1/ns/net')).toThrow(expect.objectContaining({ code: status.PERMISSION_DENIED }));
  });
});
