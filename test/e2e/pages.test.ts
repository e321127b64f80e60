// Paging (AIP-158) and parts with a small cut (--max-response-bytes 16384),
// so that a few hundred services span many pages and parts: every object is
// seen exactly once, in a stable order; a token resumes after its service
// even when that one is gone; bad tokens and changed requests are refused;
// WatchStats and WatchEvents ticks arrive in parts that the client joins.
import { create, toBinary } from '@bufbuild/protobuf';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ListServicesRequestSchema,
  ListServicesResponseSchema,
  status,
  WatchStatsRequestSchema,
  type WatchStatsResponse,
} from '../../src/client/index.js';
import { failure, useServer } from './helpers.js';

const CUT = 16384;
const ctx = useServer(['--max-response-bytes', String(CUT)]);
const ns = () => ctx.ns.name;
const vip = (i: number) => `192.0.2.${(i % 250) + 1}`;
const port = (i: number) => 1000 + Math.floor(i / 250);
const SERVICES = 400;

/** Every page of ListServices, and each page's encoded size. */
async function allPages(req: { includeDestinations?: boolean; pageSize?: number } = {}) {
  const pages: { ports: string[]; bytes: number; token: string }[] = [];
  let pageToken = '';
  do {
    const r = await ctx.client.listServices({ namespace: ns(), ...req, pageToken });
    pages.push({
      ports: r.services.map((s) => `${s.service!.id!.address}:${s.service!.id!.port}/${s.destinations.length}`),
      bytes: toBinary(ListServicesResponseSchema, r).length,
      token: r.nextPageToken,
    });
    pageToken = r.nextPageToken;
  } while (pageToken);
  return pages;
}

describe('pages and parts under a 16 KiB cut', () => {
  beforeEach(async () => {
    const operations = [];
    for (let i = 0; i < SERVICES; i++) {
      const service = { address: vip(i), protocol: 6, port: port(i) };
      operations.push({ operation: { case: 'createService' as const, value: { id: service, schedName: 'rr' } } });
      for (let j = 0; j < 3; j++) {
        operations.push({
          operation: {
            case: 'createDestination' as const,
            value: { service, destination: { address: `198.51.100.${j + 1}`, port: 80 } },
          },
        });
      }
    }
    const r = await ctx.client.batch({ namespace: ns(), operations });
    expect(r.applied).toBe(SERVICES * 4);
  }, 120_000);

  it('lists every service exactly once over pages in a stable order, each page under the cut', async () => {
    const pages = await allPages({ includeDestinations: true });
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const p of pages) expect(p.bytes).toBeLessThanOrEqual(CUT);
    const seen = pages.flatMap((p) => p.ports);
    expect(new Set(seen).size).toBe(SERVICES);
    expect(seen.length).toBe(SERVICES);
    expect(seen.every((s) => s.endsWith('/3'))).toBe(true);
    // The same state lists the same pages again.
    expect((await allPages({ includeDestinations: true })).map((p) => p.ports)).toEqual(pages.map((p) => p.ports));
    // As ipvsadm sees it.
    expect(ctx.ns.saved().filter((l) => l.startsWith('-A')).length).toBe(SERVICES);
  });

  it('takes page_size as the most services per page', async () => {
    const pages = await allPages({ pageSize: 7 });
    expect(pages.slice(0, -1).every((p) => p.ports.length === 7)).toBe(true);
    expect(pages.flatMap((p) => p.ports).length).toBe(SERVICES);
  });

  it("resumes after the token's service even when it was deleted meanwhile, and sees a service added later in order", async () => {
    const first = await ctx.client.listServices({ namespace: ns(), pageSize: 10 });
    const last = first.services.at(-1)!.service!.id!;
    await ctx.client.deleteService({ namespace: ns(), service: last });
    const rest = [];
    let pageToken = first.nextPageToken;
    while (pageToken) {
      const r = await ctx.client.listServices({ namespace: ns(), pageSize: 50, pageToken });
      rest.push(...r.services.map((s) => `${s.service!.id!.address}:${s.service!.id!.port}`));
      pageToken = r.nextPageToken;
    }
    const before = first.services.map((s) => `${s.service!.id!.address}:${s.service!.id!.port}`);
    expect(rest.length).toBe(SERVICES - 10);
    expect(rest.some((k) => before.includes(k))).toBe(false);
  });

  it('refuses a token it did not give, one for other request fields, and a negative page_size, changing nothing', async () => {
    const saved = ctx.ns.saved();
    const bad = await failure(ctx.client.listServices({ namespace: ns(), pageToken: 'bm90IGEgdG9rZW4' }));
    expect([bad.code, bad.field]).toEqual([status.INVALID_ARGUMENT, 'page_token']);
    const { nextPageToken } = await ctx.client.listServices({ namespace: ns(), pageSize: 5 });
    const other = await failure(
      ctx.client.listServices(
        create(ListServicesRequestSchema, { namespace: ns(), includeDestinations: true, pageToken: nextPageToken }),
      ),
    );
    expect(other.code).toBe(status.INVALID_ARGUMENT);
    expect(other.details).toMatch(/other fields differ/);
    const negative = await failure(ctx.client.listServices({ namespace: ns(), pageSize: -1 }));
    expect([negative.code, negative.field]).toEqual([status.INVALID_ARGUMENT, 'page_size']);
    expect(ctx.ns.saved()).toEqual(saved);
  });

  it("splits a service with more destinations than fit in one page, continuing at the next page's start", async () => {
    await ctx.client.flush({ namespace: ns() });
    const service = { address: '203.0.113.7', protocol: 6, port: 443 };
    const operations = [{ operation: { case: 'createService' as const, value: { id: service } } }];
    for (let j = 0; j < 600; j++) {
      operations.push({
        operation: {
          case: 'createDestination' as const,
          value: { service, destination: { address: `198.51.${100 + (j >> 8)}.${j & 255}`, port: 8080 } },
        } as never,
      });
    }
    await ctx.client.batch({ namespace: ns(), operations });
    const pages = await allPages({ includeDestinations: true });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => p.ports.length === 1 && p.ports[0]!.startsWith('203.0.113.7:443/'))).toBe(true);
    let total = 0;
    for await (const s of ctx.client.listAllServices({ namespace: ns(), includeDestinations: true }))
      total += s.destinations.length;
    expect(total).toBe(600);
    const dests = [];
    for await (const d of ctx.client.listAllDestinations({ namespace: ns(), service }))
      dests.push(`${d.address}:${d.port}`);
    expect(new Set(dests).size).toBe(600);
    expect(ctx.ns.saved().filter((l) => l.startsWith('-a')).length).toBe(600);
  });

  it('sends WatchStats and WatchEvents in parts under the cut, and the client joins them into whole ticks', async () => {
    const ac = new AbortController();
    // The raw stream, as grpcurl would show it: the parts themselves.
    const raw = ctx.client.grpc as unknown as { watchStats(req: unknown): ClientReadableStream<WatchStatsResponse> };
    const parts: WatchStatsResponse[] = [];
    const stream = raw.watchStats(create(WatchStatsRequestSchema, { namespace: ns() }));
    for await (const m of stream) {
      parts.push(m);
      if (!m.more) break;
    }
    stream.cancel();
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(parts.map((p) => `${p.time?.seconds}.${p.time?.nanos}`)).size).toBe(1);
    expect(parts.slice(0, -1).every((p) => p.more)).toBe(true);
    expect(parts.reduce((n, p) => n + p.services.reduce((k, s) => k + s.destinations.length, 0), 0)).toBe(SERVICES * 3);
    for await (const tick of ctx.client.watchStats({ namespace: ns() }, { signal: ac.signal })) {
      expect([tick.more, tick.services.length]).toEqual([false, SERVICES]);
      ac.abort();
    }
    const ev = new AbortController();
    for await (const m of ctx.client.watchEvents({ namespace: ns() }, { signal: ev.signal })) {
      expect([m.resync, m.more, m.snapshot.length]).toEqual([true, false, SERVICES]);
      ev.abort();
    }
  });
});
