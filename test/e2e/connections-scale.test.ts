// 20,000 entries in the connection table (a UDP datagram from each of
// 20,000 client ports through a UDP VIP) page through the server completely,
// each page under --max-response-bytes, every entry once on the unchanging
// table, as many as `ipvsadm -Lnc` lists; and reading them costs one page's
// memory, not the table's: the live heap, sampled after a full GC while the
// table is read and between pages, stays far below what holding every entry
// at once costs (both figures printed).
import { toBinary } from '@bufbuild/protobuf';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListConnectionsResponseSchema, Protocol } from '../../src/client/index.js';
import { parseConnection, readConnections, type Connection } from '../../src/ipvs/index.js';
import { readNetLines } from '../../src/procfs/net-file.js';
import { sendUdp } from '../kernel/clients.js';
import { createTopology, REAL, VIP_ADDRESS, type Topology } from '../kernel/topology.js';
import { useServer } from './helpers.js';

const ENTRIES = 20_000;
const FIRST_PORT = 20_000;
const MAX_RESPONSE = 64 * 1024;
const ctx = useServer(['--max-response-bytes', String(MAX_RESPONSE)], { flush: false });
let net: Topology;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MiB = 2 ** 20;
const liveHeap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

describe('20,000 connection entries', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
    const service = { protocol: Protocol.UDP, address: VIP_ADDRESS, port: 53 };
    await ctx.client.createService({ namespace: ctx.ns.name, service: { id: service, schedName: 'rr' } });
    await ctx.client.createDestination({
      namespace: ctx.ns.name,
      service,
      destination: { address: REAL[0].server, port: 53 },
    });
    await sendUdp(net.client, VIP_ADDRESS, 53, FIRST_PORT, ENTRIES);
  }, 600_000);
  afterAll(() => net?.close());

  it('page through the server completely, as many as ipvsadm -Lnc lists, each once', async () => {
    const listed = Number(ctx.ns.exec('ipvsadm -Lnc | wc -l')) - 2;
    expect(listed).toBe(ENTRIES);
    const ports = new Set<number>();
    let pageToken = '';
    let pages = 0;
    let largest = 0;
    let total = 0;
    const started = performance.now();
    do {
      const page = await ctx.client.listConnections({ namespace: ctx.ns.name, pageToken });
      largest = Math.max(largest, toBinary(ListConnectionsResponseSchema, page).length);
      for (const c of page.connections) ports.add(c.clientPort);
      total += page.connections.length;
      pages++;
      pageToken = page.nextPageToken;
    } while (pageToken);
    const ms = performance.now() - started;
    console.log(
      `ListConnections: ${ports.size} entries in ${pages} pages (largest ${largest} bytes, limit ${MAX_RESPONSE}) in ${ms.toFixed(0)} ms`,
    );
    // Every entry, none twice.
    expect([total, ports.size]).toEqual([ENTRIES, ENTRIES]);
    expect(Math.min(...ports)).toBe(FIRST_PORT);
    expect(Math.max(...ports)).toBe(FIRST_PORT + ENTRIES - 1);
    expect(largest).toBeLessThanOrEqual(MAX_RESPONSE);
    expect(pages).toBeGreaterThan(ENTRIES / 1000);
  }, 300_000);

  it('cost a page of memory, not the table', async () => {
    // What holding every entry at once costs: the baseline a streaming reader must stay far below.
    let base = liveHeap();
    const held: Connection[] = [];
    await readNetLines(ctx.ns.path, 'ip_vs_conn', (l) => {
      if (!l.startsWith('Pro ')) held.push(parseConnection(l));
      return true;
    });
    const wholeTable = liveHeap() - base;
    expect(held).toHaveLength(ENTRIES);
    held.length = 0;

    // Pages of 1,000, the live heap sampled every 2,000 entries while reading, and between pages.
    base = liveHeap();
    let peak = 0;
    let seen = 0;
    let from: number | undefined = 0;
    const ports = new Set<number>();
    while (from !== undefined) {
      let inPage = 0;
      from = await readConnections(ctx.ns.path, from, {}, (c) => {
        if (inPage === 1000) return false;
        inPage++;
        ports.add(c.clientPort);
        if (++seen % 2000 === 0) peak = Math.max(peak, liveHeap() - base);
        return true;
      });
      peak = Math.max(peak, liveHeap() - base);
    }
    const rss = process.memoryUsage().rss;
    console.log(
      `reading ${seen} entries in pages of 1,000: live heap growth at most ${(peak / MiB).toFixed(2)} MiB (the ports seen included); holding the whole table: ${(wholeTable / MiB).toFixed(2)} MiB; RSS ${(rss / MiB).toFixed(0)} MiB`,
    );
    expect(ports.size).toBe(ENTRIES);
    expect(peak).toBeLessThan(wholeTable / 4);
  }, 300_000);
});
