// The IPVS sysctls of a namespace, against Linux 6.1: every one read, set and read back, each cross-checked with
// `sysctl` inside the namespace; out-of-range values refused naming the sysctl, the kernel unchanged; and each
// namespace's own (the files bind to the namespace of the thread that opens them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Handle,
  KernelError,
  readSysctls,
  SYSCTLS,
  setSysctls,
  ValidationError,
  type SysctlSpec,
} from '../../src/ipvs/index.js';
import { createNetns, sh, type Netns } from './helpers.js';

let a: Netns;
let b: Netns;
let ha: Handle;
let hb: Handle;

beforeAll(() => {
  // lblc_expiration and lblcr_expiration come with their schedulers' modules.
  sh('modprobe ip_vs && modprobe ip_vs_lblc && modprobe ip_vs_lblcr');
  a = createNetns('sa');
  b = createNetns('sb');
  ha = new Handle(a.path);
  hb = new Handle(b.path);
});
afterAll(() => {
  ha?.close();
  hb?.close();
  a?.remove();
  b?.remove();
});

/** What `sysctl` inside the namespace prints for one (a pair's values apart by a tab). */
const sysctl = (ns: Netns, name: string) => ns.exec(`sysctl -n net.ipv4.vs.${name}`).replace(/\n$/, '');
const lines = (ns: Netns) =>
  ns.exec('sysctl -a 2>/dev/null | grep "^net.ipv4.vs\\."').split('\n').filter(Boolean).sort();

/** A valid value other than `current`, and not one the kernel shows as the same (defense 1 and 2). */
function other(s: SysctlSpec, current: string): string {
  const n = BigInt(current.split('\t')[0]!);
  switch (s.kind) {
    case 'boolean':
      return current === '0' ? '1' : '0';
    case 'defense':
      return current === '0' ? '3' : '0';
    case 'pair':
      return current === '4\t60' ? '3\t50' : '4\t60';
    case 'power-of-two':
      return current === '1' ? '4' : '1';
    default:
      return String(n + 1n <= s.max ? n + 1n : n - 1n);
  }
}

/** Values out of the table's range for `s`, with whether the 6.1 kernel itself refuses them too. */
function outOfRange(s: SysctlSpec): { value: string; kernelRefuses: boolean }[] {
  const bad = [
    { value: 'abc', kernelRefuses: true },
    { value: `${s.max + 1n}`, kernelRefuses: s.kind !== 'seconds' },
    { value: `${s.min - 1n}`, kernelRefuses: s.kind !== 'seconds' },
  ];
  if (s.kind === 'pair') bad.push({ value: '50 3', kernelRefuses: true }, { value: '5 5', kernelRefuses: true });
  if (s.kind === 'power-of-two') bad.push({ value: '3', kernelRefuses: true });
  return bad.map((x) =>
    s.kind === 'pair' && x.value !== 'abc' && !x.value.includes(' ') ? { ...x, value: `${x.value} 0` } : x,
  );
}

describe('IPVS sysctls of a namespace', () => {
  it('lists every one the namespace has, as `sysctl -a` does, each known to the table', () => {
    const all = readSysctls(ha);
    expect(all.map((s) => `net.ipv4.vs.${s.name} = ${s.value}`).sort()).toEqual(lines(a));
    expect(all.map((s) => s.name).sort()).toEqual(SYSCTLS.map((s) => s.name).sort());
    expect(all.every((s) => s.spec)).toBe(true);
  });

  const perNamespace = SYSCTLS.filter((s) => s.perNamespace);

  it.each(perNamespace.map((s) => [s.name, s] as const))('%s: read, set, read back, restored', (name, spec) => {
    const [before] = readSysctls(ha, [name]);
    if (spec.byDefault) expect(readSysctls(hb, [name])[0]!.value).toBe(spec.byDefault);
    const want = other(spec, before!.value);
    const [set] = setSysctls(ha, [{ name: `net.ipv4.vs.${name}`, value: want.replace('\t', ' ') }]);
    expect(set).toMatchObject({ name, previous: before!.value, value: want, changed: true });
    expect(readSysctls(ha, [name])[0]!.value).toBe(want);
    // What `sysctl` shows inside the namespace: before (and this is what was read), after, restored.
    const seen = a.exec(`sysctl -n net.ipv4.vs.${name}`);
    setSysctls(ha, [{ name, value: before!.value }]);
    expect(`${before!.value}\n${seen}`).toBe(`${sysctl(a, name)}\n${want}\n`);
  });

  it("debug_level, the whole kernel's: read-only in a namespace (EACCES), set in the initial one", () => {
    const [inA] = readSysctls(ha, ['debug_level']);
    expect(inA!.value).toBe(sysctl(a, 'debug_level'));
    expect(() => setSysctls(ha, [{ name: 'debug_level', value: '1' }])).toThrow(
      expect.objectContaining({ errno: 'EACCES' }),
    );
    const own = new Handle('');
    try {
      const before = readSysctls(own, ['debug_level'])[0]!.value;
      setSysctls(own, [{ name: 'debug_level', value: before === '0' ? '1' : '0' }]);
      expect(sh('sysctl -n net.ipv4.vs.debug_level').trim()).toBe(before === '0' ? '1' : '0');
      // Set for all: the namespace shows it too.
      expect(readSysctls(ha, ['debug_level'])[0]!.value).toBe(before === '0' ? '1' : '0');
      setSysctls(own, [{ name: 'debug_level', value: before }]);
      expect(sh('sysctl -n net.ipv4.vs.debug_level').trim()).toBe(before);
    } finally {
      own.close();
    }
  });

  it.each(perNamespace.map((s) => [s.name, s] as const))(
    '%s: out of range refused, naming it, unchanged',
    (name, spec) => {
      const before = sysctl(a, name);
      const bad = outOfRange(spec);
      // Another setting before it in the same request, not written either.
      const first = name === 'conntrack' ? 'expire_nodest_conn' : 'conntrack';
      for (const { value } of bad) {
        let e: unknown;
        try {
          setSysctls(ha, [
            { name: first, value: '1' },
            { name, value },
          ]);
        } catch (x) {
          e = x;
        }
        expect(e, value).toBeInstanceOf(ValidationError);
        expect(e).toMatchObject({ errno: 'EINVAL', field: 'value', index: 1, subject: 'sysctl' });
        expect((e as Error).message).toContain(`net.ipv4.vs.${name}`);
      }
      // Unchanged, the request's first setting not written either; and the table is no looser than the kernel: what
      // it refuses, the kernel refuses too (one shell inside the namespace for all of it).
      const f = `/proc/sys/net/ipv4/vs/${name}`;
      const script = [
        `cat ${f}`,
        `cat /proc/sys/net/ipv4/vs/${first}`,
        ...bad
          .filter((x) => x.kernelRefuses)
          .map((x) => `if printf %s "${x.value}" > ${f}; then echo took; else echo refused; fi 2>/dev/null`),
        `cat ${f}`,
      ];
      const out = a
        .exec(`${script.join('; ')} 2>/dev/null`)
        .trim()
        .split('\n');
      const refusals = bad.filter((x) => x.kernelRefuses).map(() => 'refused');
      expect(out).toEqual([...before.split('\n'), '0', ...refusals, ...before.split('\n')]);
    },
  );

  it('refuses an unknown name and a setting given twice, naming the field, writing nothing', () => {
    expect(() =>
      setSysctls(ha, [
        { name: 'conntrack', value: '1' },
        { name: 'no_such', value: '1' },
      ]),
    ).toThrow(expect.objectContaining({ field: 'name', index: 1, errno: 'EINVAL' }));
    expect(() => readSysctls(ha, ['no_such'])).toThrow(expect.objectContaining({ field: 'name', index: 0 }));
    expect(() =>
      setSysctls(ha, [
        { name: 'conntrack', value: '1' },
        { name: 'net.ipv4.vs.conntrack', value: '0' },
      ]),
    ).toThrow(expect.objectContaining({ field: 'name', index: 1 }));
    expect(sysctl(a, 'conntrack')).toBe('0');
  });

  it('validate only: checks and reads, writes nothing', () => {
    const r = setSysctls(ha, [{ name: 'expire_nodest_conn', value: '1' }], { validateOnly: true });
    expect(r).toMatchObject([{ name: 'expire_nodest_conn', previous: '0', value: '1', changed: true }]);
    expect(sysctl(a, 'expire_nodest_conn')).toBe('0');
  });

  it('writes only what differs; a defense mode 1 and 2 are the same automatic mode', () => {
    setSysctls(ha, [{ name: 'drop_entry', value: '2' }]);
    // The kernel shows 1 while memory is plentiful.
    expect(sysctl(a, 'drop_entry')).toBe('1');
    expect(setSysctls(ha, [{ name: 'drop_entry', value: '2' }])).toMatchObject([{ changed: false, value: '1' }]);
    setSysctls(ha, [{ name: 'drop_entry', value: '0' }]);
  });

  it("each namespace has its own: set in one, the other and the server's own unchanged", () => {
    const own = sh('sysctl -n net.ipv4.vs.conntrack net.ipv4.vs.sync_threshold');
    setSysctls(ha, [
      { name: 'conntrack', value: '1' },
      { name: 'sync_threshold', value: '7 70' },
    ]);
    expect(sysctl(a, 'conntrack')).toBe('1');
    expect(sysctl(a, 'sync_threshold')).toBe('7\t70');
    expect(sysctl(b, 'conntrack')).toBe('0');
    expect(sysctl(b, 'sync_threshold')).toBe('3\t50');
    expect(readSysctls(hb, ['conntrack', 'sync_threshold']).map((s) => s.value)).toEqual(['0', '3\t50']);
    expect(sh('sysctl -n net.ipv4.vs.conntrack net.ipv4.vs.sync_threshold')).toBe(own);
    setSysctls(ha, [
      { name: 'conntrack', value: '0' },
      { name: 'sync_threshold', value: '3 50' },
    ]);
  });

  it('a file the namespace lacks refuses the whole request before any write (KernelError ENOENT)', () => {
    sh('rmmod ip_vs_lblcr');
    try {
      let e: unknown;
      try {
        setSysctls(ha, [
          { name: 'conntrack', value: '1' },
          { name: 'lblcr_expiration', value: '60' },
        ]);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(KernelError);
      expect(e).toMatchObject({ errno: 'ENOENT' });
      expect(sysctl(a, 'conntrack')).toBe('0');
      expect(readSysctls(ha).map((s) => s.name)).not.toContain('lblcr_expiration');
    } finally {
      sh('modprobe ip_vs_lblcr');
    }
  });
});
