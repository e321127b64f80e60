// ipvsctl through the real server and kernel: rule files move between
// ipvsadm and ipvsctl unchanged, errors carry the kernel's reason, and the
// live watch view is read from a real terminal (tmux). Commands run the CLI
// in this process (helpers.ts); the binary itself pipes a file to restore,
// exits non-zero with the kernel's reason, and runs the watch in tmux.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopology, type Topology } from '../kernel/topology.js';
import { IPVSCTL, ipvsctl, ipvsctlBinary, useServer } from './helpers.js';

const ctx = useServer();

const run = (args: string[], input?: string) => ipvsctl(ctx, args, input);

// Every kind of rule ipvsadm writes: schedulers and their flags, persistence
// with masks, the sip engine, one-packet scheduling, IPv6, fwmark, SCTP,
// every forwarding method with rule syntax, tunnel types and checksum options.
const RULES = `-A -u 192.0.2.5:5060 -s sh -p 60 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port
-A -t [2001:db8::1]:443 -s rr -p 100 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::5]:443 -m -w 2
-A -t 192.0.2.6:80 -s mh -b mh-fallback,mh-port
-a -t 192.0.2.6:80 -r 198.51.100.1:8080 -m -w 3
-a -t 192.0.2.6:80 -r 198.51.100.2:80 -g -w 1
-a -t 192.0.2.6:80 -r 198.51.100.3:80 -i -w 1 --tun-type gre --tun-csum
-a -t 192.0.2.6:80 -r 198.51.100.4:80 -i -w 0 --tun-type gue --tun-port 6080 --tun-remcsum
-A -f 9 -s rr -p 360
-a -f 9 -r 198.51.100.5:0 -m -w 1
-A -f 8 -6 -s dh
-A --sctp-service 192.0.2.2:9 -s lc
`;
const sorted = (s: string) => s.split('\n').filter(Boolean).sort();

describe('ipvsctl save and restore speak ipvsadm -S / -R', () => {
  it('restore < file (the binary, the file piped to it), then ipvsadm -S -n is the file', async () => {
    const r = await ipvsctlBinary(ctx, ['restore'], RULES);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(sorted(ctx.ns.ipvsadm('-S -n'))).toEqual(sorted(RULES));
  });

  it('save is exactly ipvsadm -S -n', async () => {
    ctx.ns.exec(`ipvsadm -R <<'EOF'\n${RULES}EOF`);
    const r = await run(['save']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual(ctx.ns.ipvsadm('-S -n').split('\n'));
  });

  it('a malformed line refuses the whole file, naming the line, and changes nothing', async () => {
    const r = await run(['restore'], `${RULES}-a -t 192.0.2.6:80 -r 198.51.100.9 -m -w lots\n`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('line 13: -w needs a number');
    expect(ctx.ns.ipvsadm('-S -n')).toBe('');
  });

  it('a line the kernel refuses is reported with its line and reason; the rest is applied', async () => {
    const r = await run(
      ['restore'],
      '-A -t 192.0.2.1:80 -s rr\n-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1 -m -w 1\n',
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain('line 2: newService tcp 192.0.2.1:80: EEXIST');
    expect(sorted(ctx.ns.ipvsadm('-S -n'))).toEqual([
      '-A -t 192.0.2.1:80 -s rr',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1',
    ]);
  });
});

describe('ipvsctl restore and save at any size', () => {
  it("restores a file past the server's --max-batch (10,500 rules, one refused), then saves every page of it", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 875; i++) {
      const vip = `198.18.${i >> 8}.${i & 255}:80`;
      lines.push(`-A -t ${vip} -s rr`);
      for (let j = 0; j < 11; j++) lines.push(`-a -t ${vip} -r 203.0.113.${j + 1}:8080 -m -w 1`);
    }
    lines.push('-A -t 198.18.0.0:80 -s rr'); // exists by then: refused, line 10501
    const r = await run(['restore'], `${lines.join('\n')}\n`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('line 10501: newService tcp 198.18.0.0:80: EEXIST');
    const saved = ctx.ns.ipvsadm('-S -n').split('\n').filter(Boolean);
    expect(saved.length).toBe(10_500);
    expect((await run(['save'])).out.split('\n').filter(Boolean)).toEqual(saved);
  }, 300_000);
});

describe('ipvsctl commands', () => {
  it("adds, edits and deletes services and destinations with ipvsadm's options", async () => {
    expect((await run(['add-service', '-t', '192.0.2.1:80', '-s', 'rr'])).code).toBe(0);
    expect((await run(['add-dest', '-t', '192.0.2.1:80', '-r', '198.51.100.1:8080', '-m', '-w', '5'])).code).toBe(0);
    expect((await run(['edit-service', '-t', '192.0.2.1:80', '-s', 'wlc', '-p', '30'])).code).toBe(0);
    expect((await run(['edit-dest', '-t', '192.0.2.1:80', '-r', '198.51.100.1:8080', '-m', '-w', '0'])).code).toBe(0);
    expect(sorted(ctx.ns.ipvsadm('-S -n'))).toEqual([
      '-A -t 192.0.2.1:80 -s wlc -p 30',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 0',
    ]);
    expect((await run(['del-dest', '-t', '192.0.2.1:80', '-r', '198.51.100.1:8080'])).code).toBe(0);
    expect((await run(['del-service', '-t', '192.0.2.1:80'])).code).toBe(0);
    expect(ctx.ns.ipvsadm('-S -n')).toBe('');
  });

  it("prints the kernel's reason and exits non-zero (in this process, and the binary)", async () => {
    await run(['add-service', '-t', '192.0.2.1:80']);
    const r = await run(['add-service', '-t', '192.0.2.1:80']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ipvsctl: newService tcp 192.0.2.1:80: EEXIST (ALREADY_EXISTS)\n');
    expect(await ipvsctlBinary(ctx, ['add-service', '-t', '192.0.2.1:80'])).toEqual(r);
    const bad = await run(['add-service', '-t', '192.0.2.1:80', '-s', 'best']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('field service.sched_name');
  });

  it('lists as a table and as JSON; shows info and timeouts; zeroes; flushes', async () => {
    await run(['restore'], RULES);
    const table = (await run(['list'])).out;
    expect(table).toContain('IP Virtual Server version 1.2.1 (size=4096)');
    expect(table).toContain('UDP  192.0.2.5:5060 sh (sh-fallback,sh-port) persistent 60 mask 255.255.255.0 pe sip ops');
    expect(table).toMatch(/ {2}-> 198\.51\.100\.1:8080 +Masq +3 +0 +0/);
    const json = JSON.parse((await run(['list', '--json'])).out);
    expect(json).toHaveLength(6);
    expect((await run(['info'])).out).toBe('IP Virtual Server version 1.2.1 (size=4096)\n');
    expect((await run(['config', '--set', '900', '0', '300'])).code).toBe(0);
    expect(ctx.ns.ipvsadm('-L --timeout')).toMatch(/Timeout \(tcp tcpfin udp\): 900 \d+ 300/);
    expect((await run(['zero', '-t', '192.0.2.6:80'])).code).toBe(0);
    expect((await run(['zero'])).code).toBe(0);
    expect((await run(['flush'])).code).toBe(0);
    expect(ctx.ns.ipvsadm('-S -n')).toBe('');
  });
});

describe('ipvsctl watch in a real terminal', () => {
  let net: Topology;
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it('redraws rates with sparklines as traffic flows, and quits on q', async () => {
    await run(
      ['restore'],
      '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 203.0.113.2:8080 -m -w 1\n-a -t 192.0.2.10:80 -r 203.0.113.6:8080 -m -w 1\n',
    );
    const session = `w${process.pid}`;
    const tmux = (...a: string[]) =>
      execFileSync('tmux', a, { encoding: 'utf8', env: { ...process.env, TERM: 'xterm-256color' } });
    const cmd = [
      process.execPath,
      IPVSCTL,
      '--addr',
      ctx.address,
      '--netns',
      ctx.ns.name,
      'watch',
      '--interval',
      '0.5',
      '--fast',
    ];
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '30', cmd.map((a) => `'${a}'`).join(' '));
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    const until = async (ok: (s: string) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const s = screen();
        if (ok(s)) return s;
        await new Promise((r) => setTimeout(r, 200));
      }
      return screen();
    };
    expect(await until((s) => s.includes('TCP  192.0.2.10:80'))).toContain('-> 203.0.113.2:8080');
    for (let i = 0; i < 3; i++) net.request(10);
    // Rates come with the 2 s estimator; the sparkline then rises above its floor.
    const moving = await until((s) => /TCP {2}192\.0\.2\.10:80 +30 .*[▂▃▄▅▆▇█]/.test(s));
    expect(moving).toMatch(/TCP {2}192\.0\.2\.10:80 +30 /);
    expect(moving).toMatch(/[▂▃▄▅▆▇█]/);
    tmux('send-keys', '-t', session, 'q');
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      await new Promise((r) => setTimeout(r, 200));
      alive =
        spawnSync('tmux', ['has-session', '-t', session], { env: { ...process.env, TERM: 'xterm-256color' } })
          .status === 0;
    }
    expect(alive).toBe(false);
  });
});
