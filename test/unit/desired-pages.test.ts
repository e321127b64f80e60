// ListDesiredStates' pages: name order, page_size, the byte budget, and a
// desired state whose services do not fit one page split across pages.
import { create, fromBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { Drift } from '../../src/desired/drift.js';
import type { HeldState } from '../../src/desired/registry.js';
import { noCounts } from '../../src/desired/status.js';
import { decodeSpec, specData } from '../../src/server/convert-desired.js';
import { listDesiredPage } from '../../src/server/desired-pages.js';
import { RpcError } from '../../src/server/status.js';

/** A held state of `services` services; with `checked`, a TCP health check on each. */
const held = (id: string, services: number, generation = 1, checked = false): HeldState => {
  const ids = Array.from({ length: services }, (_, i) => ({
    address: `198.18.${services}.${i}`,
    protocol: 6,
    port: 80,
  }));
  const m = create(api.DesiredStateSchema, {
    namespace: 'n',
    scope: { prefixes: [`198.18.${services}.0/24`] },
    services: ids.map((id) => ({ service: { id }, destinations: [{ address: '203.0.113.1', port: 8080 }] })),
    health: checked ? ids.map((service) => ({ service, check: { kind: { case: 'tcp' as const, value: {} } } })) : [],
  });
  const data = specData(m);
  return {
    name: `desiredStates/${id}`,
    generation,
    spec: decodeSpec(data),
    data,
    drift: new Drift(),
    counts: noCounts(),
  };
};

type Req = Partial<Pick<api.ListDesiredStatesRequest, 'pageSize' | 'view'>>;

/** Every page from the first, decoded. */
function pages(all: HeldState[], req: Req, budget: number): api.ListDesiredStatesResponse[] {
  const out: api.ListDesiredStatesResponse[] = [];
  let pageToken = '';
  do {
    const r = create(api.ListDesiredStatesRequestSchema, { ...req, pageToken });
    const bytes = listDesiredPage(all, r, budget).bytes;
    // The entries stay within the budget; the token comes on top (the budget leaves room for it).
    expect(bytes.length).toBeLessThanOrEqual(budget + 200);
    const page = fromBinary(api.ListDesiredStatesResponseSchema, bytes);
    expect(page.desiredStates.length).toBeGreaterThan(0);
    out.push(page);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

describe('ListDesiredStates pages', () => {
  const all = [held('a', 2), held('b', 40), held('c', 0), held('d', 3)];

  it('lists in name order, without services by default, page_size at a time', () => {
    const got = pages(all, { pageSize: 3 }, 1 << 20);
    expect(got.map((p) => p.desiredStates.map((s) => s.name.slice(-1)))).toEqual([['a', 'b', 'c'], ['d']]);
    expect(got.flatMap((p) => p.desiredStates).every((s) => s.services.length === 0)).toBe(true);
  });

  it('with FULL, splits a state that does not fit, each service exactly once and in order, every page in budget', () => {
    const budget = 1500;
    const got = pages(all, { view: api.DesiredStateView.FULL }, budget);
    // b (40 services) does not fit one page: it is on two at least.
    expect(got.filter((p) => p.desiredStates.some((s) => s.name === 'desiredStates/b')).length).toBeGreaterThan(1);
    const services = new Map<string, string[]>();
    for (const p of got)
      for (const s of p.desiredStates) {
        expect(s.generation).toBe(1n);
        services.set(s.name, [...(services.get(s.name) ?? []), ...s.services.map((x) => x.service!.id!.address)]);
      }
    for (const h of all) expect(services.get(h.name) ?? []).toEqual(h.spec.services.map((s) => s.address));
  });

  it('with FULL, splits health checks as services: after them, each exactly once and in order, in budget', () => {
    const checked = [held('a', 2, 1, true), held('b', 40, 1, true)];
    const got = pages(checked, { view: api.DesiredStateView.FULL }, 1500);
    const b = got.flatMap((p) => p.desiredStates.filter((s) => s.name === 'desiredStates/b'));
    expect(b.length).toBeGreaterThan(1);
    const addresses = (xs: { service?: { address: string } }[]) => xs.map((x) => x.service!.address);
    expect(b.flatMap((s) => s.services.map((x) => x.service!.id!.address))).toEqual(
      checked[1]!.spec.services.map((s) => s.address),
    );
    expect(addresses(b.flatMap((s) => s.health))).toEqual(checked[1]!.spec.services.map((s) => s.address));
    // Services first: no page of b holds a health check before its last service has been listed.
    const lastService = b.map((s) => s.services.length > 0).lastIndexOf(true);
    expect(b.findIndex((s) => s.health.length > 0)).toBeGreaterThanOrEqual(lastService);
  });

  it('ABORTED when a split state is replaced between its pages; INVALID_ARGUMENT for a token of another view', () => {
    const full = create(api.ListDesiredStatesRequestSchema, { view: api.DesiredStateView.FULL });
    const first = fromBinary(api.ListDesiredStatesResponseSchema, listDesiredPage(all, full, 1500).bytes);
    const replaced = all.map((h) => (h.name === 'desiredStates/b' ? held('b', 40, 2) : h));
    const next = create(api.ListDesiredStatesRequestSchema, { ...full, pageToken: first.nextPageToken });
    expect(() => listDesiredPage(replaced, next, 1500)).toThrow(RpcError);
    expect(() => listDesiredPage(replaced, next, 1500)).toThrow(expect.objectContaining({ code: status.ABORTED }));
    const basic = create(api.ListDesiredStatesRequestSchema, { pageToken: first.nextPageToken });
    expect(() => listDesiredPage(all, basic, 1500)).toThrow(
      expect.objectContaining({ code: status.INVALID_ARGUMENT, field: 'page_token' }),
    );
  });
});
