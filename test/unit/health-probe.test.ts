// The prober's wire: every valid request and result survives a line's round
// trip unchanged, and whatever else arrives is a ProbeLineError (with the
// probe's id when the line had one), never another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/health/line-splitter.js';
import {
  checkRequest,
  decodeReady,
  decodeRequest,
  decodeResult,
  encodeLine,
  ProbeLineError,
  type ProbeRequest,
  type ProbeResult,
} from '../../src/health/probe.js';

const token = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
const regex = fc.constantFrom('ok', '^pong$', '\\d+', '(a|b)*c', '');
const status = fc.integer({ min: 100, max: 599 });
const range = fc.tuple(status, status).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
const address = fc.oneof(fc.ipV4(), fc.constantFrom('::1', '2001:db8::10', 'fe80::1', '::ffff:192.0.2.1'));
/** Optional fields: absent, never present as undefined, as the decoder builds them. */
const withOptional = <T extends object>(base: fc.Arbitrary<T>, opt: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(base, fc.record(opt, { requiredKeys: [] })).map(([b, o]) => ({ ...b, ...o }));

const http = withOptional(
  fc.record({
    tls: fc.boolean(),
    path: token.map((s) => `/${s}`),
    statuses: fc.array(range, { minLength: 1, maxLength: 3 }),
    verify: fc.boolean(),
  }),
  { host: token, sni: token, body: regex, caFile: token.map((s) => `/etc/${s}`) },
);
const grpc = withOptional(fc.record({ service: fc.string(), tls: fc.boolean(), verify: fc.boolean() }), { sni: token });
const udp = withOptional(
  fc.record({ payload: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')) }),
  {
    expect: regex,
  },
);
const exec = fc.record({
  path: token.map((s) => `/usr/libexec/${s}`),
  args: fc.array(fc.string()),
  weightFromOutput: fc.boolean(),
});

const request: fc.Arbitrary<ProbeRequest> = fc
  .record({
    id: fc.nat(),
    address,
    port: fc.integer({ min: 1, max: 65535 }),
    timeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
  })
  .chain((base) =>
    fc.oneof(
      fc.constant({ ...base, kind: 'tcp' as const }),
      http.map((h) => ({ ...base, kind: 'http' as const, http: h })),
      grpc.map((g) => ({ ...base, kind: 'grpc' as const, grpc: g })),
      udp.map((u) => ({ ...base, kind: 'udp' as const, udp: u })),
      exec.map((x) => ({ ...base, kind: 'exec' as const, exec: x })),
    ),
  );

const result: fc.Arbitrary<ProbeResult> = withOptional(
  fc.record({
    id: fc.nat(),
    ok: fc.boolean(),
    latencyMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
    reason: fc.string(),
  }),
  { weight: fc.integer({ min: 0, max: 65535 }) },
);

/** The same value with ordinary prototypes (fast-check's records have none). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** Decoding succeeds, or fails only with a ProbeLineError. */
function decodesOrRefuses(decode: (line: string) => unknown, line: string): void {
  try {
    decode(line);
  } catch (err) {
    expect(err).toBeInstanceOf(ProbeLineError);
  }
}

describe('the prober line codec', () => {
  it('round-trips every valid request, one line ending in a newline', () => {
    fc.assert(
      fc.property(request, (r) => {
        const line = encodeLine(r);
        expect(line.indexOf('\n')).toBe(line.length - 1);
        expect(decodeRequest(line.slice(0, -1))).toStrictEqual(plain(r));
      }),
    );
  });

  it('round-trips every valid result', () => {
    fc.assert(
      fc.property(result, (r) => {
        expect(decodeResult(encodeLine(r).slice(0, -1))).toStrictEqual(plain(r));
      }),
    );
  });

  it('round-trips the ready line', () => {
    expect(decodeReady(encodeLine({ ready: true, netnsInode: 4026531840 }))).toEqual({
      ready: true,
      netnsInode: 4026531840,
    });
  });

  it('refuses any other text with a ProbeLineError only', () => {
    const junk = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(junk, (line) => {
        decodesOrRefuses(decodeRequest, line);
        decodesOrRefuses(decodeResult, line);
        decodesOrRefuses(decodeReady, line);
      }),
    );
  });

  it('refuses a request with one field spoiled, naming the field and keeping the id', () => {
    const spoil = fc.constantFrom<[string, unknown]>(
      ['kind', 'icmp'],
      ['address', 'example.com'],
      ['address', '192.0.2.1:80'],
      ['port', 70000],
      ['port', 1.5],
      ['timeoutMs', 0],
      ['timeoutMs', '200'],
    );
    fc.assert(
      fc.property(request, spoil, (r, [field, value]) => {
        const bad = { ...r, [field]: value };
        expect(() => checkRequest(bad)).toThrow(
          expect.objectContaining({ id: r.id, message: expect.stringMatching(field) }),
        );
      }),
    );
  });

  it.each([
    ['an http probe without its http part', { kind: 'http' }, /http: not an object/],
    [
      'statuses that are not ranges',
      { kind: 'http', http: { tls: false, path: '/', statuses: [[299, 200]], verify: true } },
      /statuses/,
    ],
    ['no statuses', { kind: 'http', http: { tls: false, path: '/', statuses: [], verify: true } }, /statuses/],
    [
      'a path with a space',
      { kind: 'http', http: { tls: false, path: '/a b', statuses: [[200, 299]], verify: true } },
      /path/,
    ],
    [
      'a Host header with CR LF',
      { kind: 'http', http: { tls: false, path: '/', host: 'a\r\nX: y', statuses: [[200, 299]], verify: true } },
      /host/,
    ],
    [
      'a body that is not a regex',
      { kind: 'http', http: { tls: false, path: '/', statuses: [[200, 299]], body: '(', verify: true } },
      /body/,
    ],
    [
      'a relative program',
      { kind: 'exec', exec: { path: 'check.sh', args: [], weightFromOutput: false } },
      /exec\.path/,
    ],
    [
      'an argument that is not a string',
      { kind: 'exec', exec: { path: '/bin/true', args: [1], weightFromOutput: false } },
      /exec\.args/,
    ],
    ['a payload that is not base64', { kind: 'udp', udp: { payload: 'not base64!' } }, /udp\.payload/],
  ])('refuses %s', (_, part, message) => {
    const r = { id: 7, address: '192.0.2.1', port: 80, timeoutMs: 1000, ...part };
    expect(() => checkRequest(r)).toThrow(message);
    expect(() => checkRequest(r)).toThrow(expect.objectContaining({ id: 7 }));
  });

  it('takes port 0 for a script, which may ignore the port, and for no other kind', () => {
    const base = { id: 1, address: '192.0.2.1', port: 0, timeoutMs: 1000 };
    expect(
      checkRequest({ ...base, kind: 'exec', exec: { path: '/bin/true', args: [], weightFromOutput: false } }).port,
    ).toBe(0);
    expect(() => checkRequest({ ...base, kind: 'tcp' })).toThrow(/port/);
  });

  it('drops fields it does not know', () => {
    const r = checkRequest({ id: 1, kind: 'tcp', address: '::1', port: 80, timeoutMs: 5, extra: 1, http: {} });
    expect(r).toStrictEqual({ id: 1, kind: 'tcp', address: '::1', port: 80, timeoutMs: 5 });
  });

  it('refuses a result with a weight over 65535 or a negative latency', () => {
    expect(() => decodeResult('{"id":1,"ok":true,"latencyMs":1,"reason":"x","weight":65536}')).toThrow(/weight/);
    expect(() => decodeResult('{"id":1,"ok":true,"latencyMs":-1,"reason":"x"}')).toThrow(/latencyMs/);
  });
});

describe('the line splitter', () => {
  it('yields the same lines however the bytes are chunked', () => {
    const lines = fc.array(
      fc.string({ unit: 'grapheme' }).map((s) => s.replaceAll('\n', '')),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(lines, fc.array(fc.nat(), { maxLength: 20 }), (ls, cuts) => {
        const bytes = Buffer.from(ls.map((l) => `${l}\n`).join(''));
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const s = new LineSplitter();
        const got: string[] = [];
        let from = 0;
        for (const to of [...at, bytes.length]) {
          got.push(...s.push(bytes.subarray(from, to)));
          from = to;
        }
        expect(got).toEqual(ls);
      }),
    );
  });

  it('drops a line over 1 MiB whole, counts it, and goes on with the next', () => {
    const s = new LineSplitter();
    const big = Buffer.alloc(MAX_LINE_BYTES + 10, 'x');
    expect(s.push(Buffer.from('a\n'))).toEqual(['a']);
    expect(s.push(big.subarray(0, 600_000))).toEqual([]);
    expect(s.push(Buffer.concat([big.subarray(600_000), Buffer.from('\nb\n')]))).toEqual(['b']);
    expect(s.overlong).toBe(1);
  });
});
