// ipvsctl's list views against ipvsadm's, on one kernel state with a
// history: real traffic through IPv4, IPv6 and firewall-mark services
// (past 10^8 bytes on one, where ipvsadm scales to K), thresholds,
// persistence templates, held connections, UDP entries and two sync
// daemons. Each view and combination is compared with what `ipvsadm -L -n`
// prints with the same options.
//
// Tolerances, and why:
// - Counters are compared exactly, after the traffic has stopped and two
//   readings 2.5 s apart agree (the kernel sums them at its 2 s estimator
//   tick). Connection counts hold still because every TCP connection is
//   held open (ESTABLISHED for 900 s) and UDP entries last the hour the UDP
//   timeout is set to. An ipvsctl reading counts only when ipvsadm prints
//   the same just before and just after it; else it is read again (this
//   never needs to happen unless something expired).
// - Rates decay at each 2 s tick once the traffic stops, and a tick may
//   come between ipvsadm's reading and ipvsctl's, so no reading of ipvsadm
//   is sure to equal it. Every rate ipvsctl prints must lie between ipvsadm's readings just
//   before and just after it (the decay is monotonic), every other word
//   must be ipvsadm's, and every word must end in ipvsadm's column.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopology, type Topology } from '../kernel/topology.js';
import { ipvsctl, useServer } from './helpers.js';
import { addIpv6AndMarks, BULK_PORT, MARKED, runPlan, startBulkServers, VIP6 } from './views-traffic.js';

const ctx = useServer([], { flush: false });
/** Two of these through 192.0.2.10:9090: past the 10^8 bytes where ipvsadm's counters turn to K. */
const BULK = 60_000_000;
const SLOW = 600_000;

// The tunnel destination's name is wider than ipvsadm's 28-character column. No two addresses in one
// list differ by 2^31 or more in a 32-bit word, where ipvsadm's sort overflows (see README, ipvsctl).
const RULES = `-A -t 192.0.2.10:${BULK_PORT} -s rr
-a -t 192.0.2.10:${BULK_PORT} -r 203.0.113.2:${BULK_PORT} -m -w 3 -x 5000 -y 1000
-a -t 192.0.2.10:${BULK_PORT} -r 203.0.113.6:${BULK_PORT} -m -w 1
-A -t 192.0.2.10:9091 -s wlc -p 3600
-a -t 192.0.2.10:9091 -r 203.0.113.2:${BULK_PORT} -m -w 1
-a -t 192.0.2.10:9091 -r 203.0.113.6:${BULK_PORT} -m -w 2 -x 10 -y 5
-A -t [${VIP6}]:${BULK_PORT} -s rr -p 3600 -M 64
-a -t [${VIP6}]:${BULK_PORT} -r [2001:db8:1::2]:${BULK_PORT} -m -w 1 -x 100 -y 10
-a -t [${VIP6}]:${BULK_PORT} -r [2001:db8:2::2]:${BULK_PORT} -m -w 2
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 203.0.113.2:5353 -m
-a -u 192.0.2.10:53 -r 203.0.113.6:5353 -m
-A --sctp-service 192.0.2.10:9 -s lc
-a --sctp-service 192.0.2.10:9 -r 203.0.113.6:9 -m
-a --sctp-service 192.0.2.10:9 -r 203.0.113.20:9 -i -w 0 --tun-type gue --tun-port 6080 --tun-remcsum
-a --sctp-service 192.0.2.10:9 -r 203.0.113.21:9 -i -w 0 --tun-type gre --tun-csum
-a --sctp-service 192.0.2.10:9 -r 203.0.113.22:9 -i -w 0 --tun-type gue --tun-port 6081 --tun-nocsum
-A -u 192.0.2.10:5060 -s rr --pe sip -o
-A -u 192.0.2.10:5061 -s sh -b sh-fallback -p 30 -M 255.255.255.0 --pe sip
-A -f 7 -s rr
-a -f 7 -r 203.0.113.6:${BULK_PORT} -m
-A -f 7 -6 -s sh -b sh-port
-a -f 7 -6 -r [2001:db8:2::2]:${BULK_PORT} -m
-a -f 7 -6 -r [2001:db8:2:ffff:ffff:ffff:ffff:1]:${BULK_PORT} -i -w 0
`;

let net: Topology;
const processes: ChildProcess[] = [];

const quoted = (args: string[]) => args.map((a) => `'${a}'`).join(' ');
const ipvsadm = (args: string[]) => ctx.ns.ipvsadm(`-L -n ${quoted(args)}`);

/** Waits for two readings of the counters 2.5 s apart to agree: the estimator has summed the last packets. */
async function settled(): Promise<string> {
  let last = '';
  for (let i = 0; i < 24; i++) {
    const now = ipvsadm(['--stats', '--exact']);
    if (now === last) return now;
    last = now;
    await sleep(2_500);
  }
  throw new Error(`the counters did not settle:\n${last}`);
}

beforeAll(async () => {
  net = await createTopology(ctx.ns);
  addIpv6AndMarks(ctx.ns, net);
  processes.push(...(await startBulkServers(net)));
  ctx.ns.exec(`ipvsadm --set 900 120 3600 && ipvsadm -R <<'EOF'\n${RULES}EOF`);
  processes.push(
    await runPlan(net, {
      tcp: [
        { host: '192.0.2.10', port: BULK_PORT, count: 2, bytes: BULK },
        { host: '192.0.2.10', port: 9091, count: 3, bytes: 2_000 },
        { host: VIP6, port: BULK_PORT, count: 2, bytes: 300_000 },
        { host: MARKED.v4, port: BULK_PORT, count: 2, bytes: 50_000 },
        { host: MARKED.v6, port: BULK_PORT, count: 1, bytes: 70_000 },
      ],
      udp: [{ host: '192.0.2.10', port: 53, count: 5 }],
    }),
  );
  await settled();
  // After the traffic, so that the master has nothing to send; and on a dummy link, where it would go nowhere.
  ctx.ns.exec(
    'ip link add sync0 type dummy && ip link set sync0 up && ipvsadm --start-daemon master --mcast-interface sync0 --syncid 5 && ipvsadm --start-daemon backup --mcast-interface sync0 --syncid 9 --sync-maxlen 1000 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3',
  );
}, SLOW);

afterAll(() => {
  for (const p of processes) p.kill();
  net?.close();
});

/** `ipvsctl list ARGS` is `ipvsadm -L -n ARGS`, byte for byte, read while ipvsadm's output held still. */
async function same(args: string[]): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = ipvsadm(args);
    const r = await ipvsctl(ctx, ['list', ...args]);
    expect(r, args.join(' ')).toMatchObject({ code: 0, err: '' });
    if (ipvsadm(args) === before) {
      expect(r.out, `ipvsctl list ${args.join(' ')}`).toBe(before);
      return before;
    }
  }
  throw new Error(`ipvsadm -L -n ${args.join(' ')} kept changing`);
}

const UNIT: Record<string, bigint> = { '': 1n, K: 10n ** 3n, M: 10n ** 6n, G: 10n ** 9n, T: 10n ** 12n };
/** A number as ipvsadm prints it ("123", "12345K"), or undefined for any other word. */
function amount(word: string): bigint | undefined {
  const m = /^(\d+)([KMGT]?)$/.exec(word);
  return m ? BigInt(m[1]!) * UNIT[m[2]!]! : undefined;
}
const words = (line: string) => [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], end: m.index + m[0].length }));

/** `ipvsctl list ARGS` against ipvsadm's readings just before and after it: the rate tolerance above. */
async function between(args: string[]): Promise<string> {
  const before = ipvsadm(args);
  const r = await ipvsctl(ctx, ['list', ...args]);
  const after = ipvsadm(args);
  expect(r, args.join(' ')).toMatchObject({ code: 0, err: '' });
  const b = before.split('\n');
  const o = r.out.split('\n');
  const a = after.split('\n');
  expect(o.length).toBe(b.length);
  expect(a.length).toBe(b.length);
  o.forEach((line, i) => {
    const wb = words(b[i]!);
    const wo = words(line);
    const wa = words(a[i]!);
    expect(line.length, `length of ${JSON.stringify(line)}`).toBe(b[i]!.length);
    expect(
      wo.map((w) => w.end),
      `columns of ${JSON.stringify(line)}`,
    ).toEqual(wb.map((w) => w.end));
    for (const [j, w] of wo.entries()) {
      const [x, v, y] = [wb[j]!.text, w.text, wa[j]!.text].map(amount);
      if (x === undefined || v === undefined || y === undefined) {
        expect(w.text).toBe(wb[j]!.text);
        continue;
      }
      const [lo, hi] = x < y ? [x, y] : [y, x];
      expect(lo <= v && v <= hi, `${w.text} between ${wb[j]!.text} and ${wa[j]!.text} in ${line}`).toBe(true);
    }
  });
  return before;
}

describe('ipvsctl list views are ipvsadm -L -n', () => {
  it('the state has history: K-scaled bytes, thresholds, templates, active and inactive connections', () => {
    const exact = ipvsadm(['--stats', '--exact']);
    const bulk = exact.split('\n').find((l) => l.startsWith(`TCP  192.0.2.10:${BULK_PORT}`))!;
    const [, , conns, , , , outBytes] = bulk.split(/\s+/);
    expect(conns).toBe('2');
    expect(BigInt(outBytes!)).toBeGreaterThan(100_000_000n);
    expect(ipvsadm(['--stats'])).toMatch(new RegExp(`TCP {2}192\\.0\\.2\\.10:${BULK_PORT} .*\\d+K\\n`));
    expect(ipvsadm(['--persistent-conn'])).toMatch(/-> 203\.0\.113\.\d:9090 +\d +1 +3 +0/);
    expect(ipvsadm(['--thresholds'])).toMatch(/-> 203\.0\.113\.2:5353 +0 +0 +0 +[1-9]/);
    expect(ipvsadm(['-f', '7', '-6', '--stats'])).toMatch(/-> \[2001:db8:2::2\]:9090 +1 /);
  });

  it(
    'rates: --rate, with --exact --sort, and one service, within the decay between two ipvsadm readings',
    async () => {
      const all = await between(['--rate']);
      // Not all zero: the rates are still decaying from the traffic.
      expect(all).toMatch(new RegExp(`TCP {2}192\\.0\\.2\\.10:${BULK_PORT} .* [1-9]\\d*K?\\n`));
      await between(['--rate', '--exact', '--sort']);
      await between(['-f', '7', '-6', '--rate']);
    },
    SLOW,
  );

  it(
    'counters: --stats, --stats --exact, --stats --rate (stats wins), -t and -f with --stats',
    async () => {
      await same(['--stats']);
      await same(['--stats', '--exact']);
      await same(['--stats', '--rate']);
      await same(['-t', `192.0.2.10:${BULK_PORT}`, '--stats', '--exact']);
      await same(['-f', '7', '--stats']);
    },
    SLOW,
  );

  it(
    'connections and configuration: the default view, --sort --exact --tun-info, --thresholds, --persistent-conn, combined',
    async () => {
      await same([]);
      await same(['--sort', '--exact', '--tun-info']);
      await same(['--thresholds']);
      await same(['--thresholds', '--persistent-conn']);
      await same(['--persistent-conn']);
    },
    SLOW,
  );

  it(
    'one service: -t (IPv6), -u, --sctp-service (with --tun-info), -f -6',
    async () => {
      await same(['-t', `[${VIP6}]:${BULK_PORT}`, '--persistent-conn']);
      await same(['-u', '192.0.2.10:53', '--thresholds']);
      await same(['--sctp-service', '192.0.2.10:9', '--tun-info']);
      await same(['-f', '7', '-6']);
    },
    SLOW,
  );

  it(
    '--timeout and --daemon',
    async () => {
      expect(await same(['--timeout'])).toBe('Timeout (tcp tcpfin udp): 900 120 3600\n');
      expect(await same(['--daemon'])).toMatch(/^master sync daemon .*\nbackup sync daemon .*ttl=3\)\n$/);
    },
    SLOW,
  );

  it(
    'refuses what ipvsadm refuses: an unknown service, -6 without -f, --timeout with a view',
    async () => {
      for (const [args, err] of [
        [['-t', '192.0.2.99:80'], /NOT_FOUND/],
        [['-6'], /-6 is for a firewall-mark service/],
        [['--timeout', '--stats'], /--timeout lists alone: not with --stats/],
      ] as const) {
        expect(() => ipvsadm([...args])).toThrow();
        const r = await ipvsctl(ctx, ['list', ...args]);
        expect(r.code).toBe(1);
        expect(r.out).toBe('');
        expect(r.err).toMatch(err);
      }
    },
    SLOW,
  );
});
