// An Apply's report under the size limit: unary Apply keeps refused changes
// first and counts what it leaves out; ApplyWithProgress sends every change in parts.
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { applyReply, resultParts } from '../../src/server/apply-report.js';

const change = (i: number, failed: boolean) =>
  create(api.ChangeSchema, {
    action: api.ChangeAction.CREATE_DESTINATION,
    service: { id: { address: '192.0.2.1', protocol: 6, port: 80 }, schedName: 'rr' },
    destination: { address: `198.51.100.${i % 250}`, port: 1000 + i, weight: 1 },
    description: `createDestination 198.51.100.${i % 250}:${1000 + i} of tcp 192.0.2.1:80`,
    ...(failed ? { code: 6, errno: 'EEXIST', message: 'exists' } : {}),
  });
const report = (n: number) =>
  create(api.ApplyResponseSchema, {
    changes: Array.from({ length: n }, (_, i) => change(i, i % 97 === 0)),
    applied: n - Math.ceil(n / 97),
    failed: Math.ceil(n / 97),
  });

describe('the Apply report under --max-response-bytes', () => {
  it('is the whole response when it fits', () => {
    const r = report(50);
    expect(fromBinary(api.ApplyResponseSchema, applyReply(r, 65536).bytes)).toEqual(r);
  });

  it('keeps refused changes first, then applied ones while they fit, and counts the omitted', () => {
    const r = report(5000);
    const budget = 65536;
    const bytes = applyReply(r, budget).bytes;
    expect(bytes.length).toBeLessThanOrEqual(budget + 64);
    const got = fromBinary(api.ApplyResponseSchema, bytes);
    const refused = r.changes.filter((c) => c.code);
    expect(got.changes.slice(0, refused.length)).toEqual(refused);
    expect(got.changes.slice(refused.length).every((c) => !c.code)).toBe(true);
    expect([got.applied, got.failed]).toEqual([r.applied, r.failed]);
    expect(got.omitted).toBe(r.changes.length - got.changes.length);
    expect(got.omitted).toBeGreaterThan(0);
  });

  it('sends every change over ApplyWithProgress results, each part under the limit, more on all but the last', () => {
    const r = report(5000);
    const parts = resultParts(r, 65536).map((p) => fromBinary(api.ApplyWithProgressResponseSchema, p.bytes));
    expect(parts.length).toBeGreaterThan(3);
    for (const p of resultParts(r, 65536)) expect(p.bytes.length).toBeLessThanOrEqual(65536 + 64);
    const results = parts.map((p) => (p.event.case === 'result' ? p.event.value : undefined));
    expect(results.map((x) => x?.more)).toEqual([...parts.slice(1).map(() => true), false]);
    expect(results.flatMap((x) => x!.changes)).toEqual(r.changes);
    expect(results.every((x) => x!.applied === r.applied && x!.failed === r.failed)).toBe(true);
  });
});
