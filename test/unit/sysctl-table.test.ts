// The IPVS sysctl table: values in range come back as the kernel prints them (and again unchanged), values out of
// range and unknown names are refused naming the sysctl and the field, and nothing else is ever thrown.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSysctlSettings,
  knownSysctl,
  parseSysctlValue,
  sameSysctlValue,
  SYSCTLS,
  sysctlSpec,
  ValidationError,
  type SysctlSpec,
} from '../../src/ipvs/index.js';

const big = (min: bigint, max: bigint) => fc.bigInt({ min, max });
const spec = fc.constantFrom(...SYSCTLS);
/** Spaces and tabs as people type them around and between values. */
const blank = fc.constantFrom('', ' ', '  ', '\t', '\n');

/** A valid value of `s` as the kernel prints it. */
function valid(s: SysctlSpec): fc.Arbitrary<string> {
  if (s.kind === 'power-of-two') return fc.integer({ min: 0, max: 30 }).map((k) => String(2n ** BigInt(k)));
  if (s.kind !== 'pair') return big(s.min, s.max).map(String);
  return fc.oneof(
    big(s.min, s.max).map((t) => `${t}\t0`),
    big(s.min + 1n, s.max).chain((p) => big(s.min, p - 1n).map((t) => `${t}\t${p}`)),
  );
}

/** What `run` threw, or undefined. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('the IPVS sysctl table', () => {
  it('knows every sysctl of Linux 6.1, once, with a range that holds its default', () => {
    expect(SYSCTLS.map((s) => s.name)).toEqual([
      'am_droprate',
      'amemthresh',
      'backup_only',
      'cache_bypass',
      'conn_reuse_mode',
      'conntrack',
      'debug_level',
      'drop_entry',
      'drop_packet',
      'expire_nodest_conn',
      'expire_quiescent_template',
      'ignore_tunneled',
      'lblc_expiration',
      'lblcr_expiration',
      'nat_icmp_send',
      'pmtu_disc',
      'run_estimation',
      'schedule_icmp',
      'secure_tcp',
      'sloppy_sctp',
      'sloppy_tcp',
      'snat_reroute',
      'sync_persist_mode',
      'sync_ports',
      'sync_qlen_max',
      'sync_refresh_period',
      'sync_retries',
      'sync_sock_size',
      'sync_threshold',
      'sync_version',
    ]);
    for (const s of SYSCTLS) if (s.byDefault) expect(parseSysctlValue(s, s.byDefault)).toBe(s.byDefault);
    expect(sysctlSpec('net.ipv4.vs.conntrack')).toBe(sysctlSpec('conntrack'));
  });

  it('takes the ranges the 6.1 kernel enforces', () => {
    const range = (n: string) => [knownSysctl(n).min, knownSysctl(n).max];
    expect(range('drop_entry')).toEqual([0n, 3n]);
    expect(range('sync_retries')).toEqual([0n, 3n]);
    expect(range('sync_version')).toEqual([0n, 1n]);
    expect(range('conntrack')).toEqual([-(2n ** 31n), 2n ** 31n - 1n]);
    expect(range('sync_qlen_max')).toEqual([0n, 2n ** 64n - 1n]);
    expect(range('sync_refresh_period')).toEqual([-2147483n, 2147483n]);
    expect(range('sync_threshold')).toEqual([0n, 2n ** 31n - 1n]);
  });

  it('valid values come back as the kernel prints them, and again unchanged', () => {
    fc.assert(
      fc.property(
        spec.chain((s) => fc.tuple(fc.constant(s), valid(s), blank, blank)),
        ([s, v, before, after]) => {
          const typed = `${before}${v.replace('\t', ' ')}${after}`;
          expect(parseSysctlValue(s, typed)).toBe(v);
          expect(parseSysctlValue(s, v)).toBe(v);
          expect(sameSysctlValue(s, v, v)).toBe(true);
        },
      ),
    );
  });

  it('values out of range are refused, naming the sysctl and the field', () => {
    const outside = spec.chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.oneof(big(s.max + 1n, s.max + 2n ** 70n), big(s.min - 2n ** 70n, s.min - 1n)),
        fc.nat(100),
      ),
    );
    fc.assert(
      fc.property(outside, ([s, n, index]) => {
        const v = s.kind === 'pair' ? `${n} 0` : String(n);
        const e = thrown(() => parseSysctlValue(s, v, index));
        expect(e).toBeInstanceOf(ValidationError);
        expect(e).toMatchObject({ errno: 'EINVAL', field: 'value', subject: 'sysctl', index });
        expect((e as Error).message).toContain(`net.ipv4.vs.${s.name}`);
      }),
    );
  });

  it('a pair wants its threshold below its period (or a period of 0); sync_ports a power of two', () => {
    const pair = knownSysctl('sync_threshold');
    for (const v of ['50 3', '5 5', '3', '1 2 3', '-1 5'])
      expect(thrown(() => parseSysctlValue(pair, v))).toBeInstanceOf(ValidationError);
    expect(parseSysctlValue(pair, '7 0')).toBe('7\t0');
    const ports = knownSysctl('sync_ports');
    for (const v of ['0', '3', '6', '1073741825'])
      expect(thrown(() => parseSysctlValue(ports, v))).toBeInstanceOf(ValidationError);
  });

  it('only decimal integers: no hex, octal, sign, fraction or words (the kernel would read 010 as 8)', () => {
    const s = knownSysctl('amemthresh');
    for (const v of ['0x10', '010', '+1', '1.5', '1e3', 'abc', '', ' ', '1 2', '--1', '-0'])
      expect(
        thrown(() => parseSysctlValue(s, v)),
        v,
      ).toBeInstanceOf(ValidationError);
  });

  it('any text either parses to a value that parses to itself, or is a ValidationError: nothing else comes out', () => {
    fc.assert(
      fc.property(spec, fc.oneof(fc.string(), fc.stringMatching(/^[-0-9 \t]{0,24}$/)), (s, text) => {
        const e = thrown(() => parseSysctlValue(s, text));
        if (e === undefined) expect(parseSysctlValue(s, parseSysctlValue(s, text))).toBe(parseSysctlValue(s, text));
        else expect(e).toBeInstanceOf(ValidationError);
      }),
    );
  });

  it('an unknown name is refused naming the field "name"', () => {
    fc.assert(
      fc.property(
        fc.string().filter((n) => !sysctlSpec(n)),
        fc.nat(100),
        (name, index) => {
          expect(thrown(() => knownSysctl(name, index))).toMatchObject({ field: 'name', index, errno: 'EINVAL' });
        },
      ),
    );
  });

  it('a defense mode of 1 or 2 is the same automatic mode; other values compare as they are printed', () => {
    const d = knownSysctl('drop_entry');
    expect(sameSysctlValue(d, '1', '2')).toBe(true);
    expect(sameSysctlValue(d, '2', '1')).toBe(true);
    expect(sameSysctlValue(d, '0', '3')).toBe(false);
    expect(sameSysctlValue(knownSysctl('conntrack'), '1', '2')).toBe(false);
  });

  it('settings: each checked at its index, a sysctl given twice refused', () => {
    expect(checkSysctlSettings([{ name: 'net.ipv4.vs.conntrack', value: ' 1 ' }])).toMatchObject([
      { spec: { name: 'conntrack' }, value: '1' },
    ]);
    expect(
      thrown(() =>
        checkSysctlSettings([
          { name: 'conntrack', value: '1' },
          { name: 'sync_retries', value: '4' },
        ]),
      ),
    ).toMatchObject({ field: 'value', index: 1 });
    expect(
      thrown(() =>
        checkSysctlSettings([
          { name: 'conntrack', value: '1' },
          { name: 'net.ipv4.vs.conntrack', value: '1' },
        ]),
      ),
    ).toMatchObject({ field: 'name', index: 1 });
  });
});
