// ipvsadm's rule language: what ipvsctl writes it reads back to the same
// model, and what it reads from ipvsadm's own lines it writes back unchanged.
import { create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressFamily,
  DestinationSchema,
  ForwardingMethod,
  Protocol,
  ServiceSchema,
  TunnelType,
  type BatchOperation,
} from '../../src/client/index.js';
import { formatDestination, formatService } from '../../src/cli/rule-format.js';
import { parseRuleArgs, parseRules, RuleError } from '../../src/cli/rule-parse.js';

const v4 = fc
  .tuple(fc.constant(192), fc.constant(0), fc.constant(2), fc.integer({ min: 1, max: 254 }))
  .map((o) => o.join('.'));
const v6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8::${n.toString(16)}`);
const port = fc.integer({ min: 1, max: 65535 });

const service = fc
  .oneof(
    fc.record({ family: fc.constant(AddressFamily.INET), address: v4 }),
    fc.record({ family: fc.constant(AddressFamily.INET6), address: v6 }),
  )
  .chain(({ family, address }) =>
    fc.record({
      id: fc.oneof(
        fc.record({
          addressFamily: fc.constant(family),
          protocol: fc.constantFrom(Protocol.TCP, Protocol.UDP, Protocol.SCTP),
          address: fc.constant(address),
          port,
          fwMark: fc.constant(0),
        }),
        fc.record({
          addressFamily: fc.constant(family),
          protocol: fc.constant(Protocol.UNSPECIFIED),
          address: fc.constant(''),
          port: fc.constant(0),
          fwMark: fc.integer({ min: 1, max: 0xffffffff }),
        }),
      ),
      schedName: fc.constantFrom('rr', 'wlc', 'sh', 'mh', 'lc'),
      persistent: fc.boolean(),
      timeout: fc.integer({ min: 1, max: 100000 }),
      netmask:
        family === AddressFamily.INET6
          ? fc.integer({ min: 1, max: 128 })
          : fc.integer({ min: 0, max: 32 }).map((b) => (b ? (0xffffffff << (32 - b)) >>> 0 : 0xffffffff)),
      ops: fc.boolean(),
      pe: fc.boolean(),
      schedFlags: fc.subarray([0x8, 0x10]),
    }),
  )
  .map((s) =>
    create(ServiceSchema, {
      id: s.id,
      schedName: s.schedName,
      flags: (s.persistent ? 1 : 0) | (s.ops ? 4 : 0) | s.schedFlags.reduce((a, b) => a | b, 0),
      timeout: s.persistent ? s.timeout : 0,
      netmask: s.netmask,
      peName: s.pe && s.persistent ? 'sip' : '',
    }),
  );

const destination = fc
  .record({
    v6: fc.boolean(),
    a4: v4,
    a6: v6,
    port: fc.integer({ min: 0, max: 65535 }),
    weight: fc.integer({ min: 0, max: 0x7fffffff }),
    fwd: fc.constantFrom(ForwardingMethod.MASQ_UNSPECIFIED, ForwardingMethod.DIRECT_ROUTE, ForwardingMethod.TUNNEL),
    tun: fc.constantFrom(TunnelType.IPIP_UNSPECIFIED, TunnelType.GUE, TunnelType.GRE),
    tunPort: port,
    csum: fc.constantFrom(0, 1, 2),
  })
  .map((d) => {
    const tunnel = d.fwd === ForwardingMethod.TUNNEL;
    return create(DestinationSchema, {
      addressFamily: d.v6 ? AddressFamily.INET6 : AddressFamily.INET,
      address: d.v6 ? d.a6 : d.a4,
      port: d.port,
      weight: d.weight,
      forwardingMethod: d.fwd,
      tunnelType: tunnel ? d.tun : 0,
      tunnelPort: tunnel && d.tun === TunnelType.GUE ? d.tunPort : 0,
      tunnelFlags: tunnel && d.tun !== TunnelType.IPIP_UNSPECIFIED ? d.csum : 0,
    });
  });

const op = (line: string): BatchOperation => {
  const r = parseRuleArgs(line.split(' '));
  if (r?.kind !== 'batch') throw new Error('not a write');
  return r.op;
};

describe('ipvsadm rules', () => {
  it('a written service reads back to the same service, and writes the same line again', () => {
    fc.assert(
      fc.property(service, (s) => {
        const line = formatService(s);
        const back = op(line).operation;
        expect(back.case).toBe('createService');
        const got = back.value as typeof s;
        // Unpersistent services carry no mask in the rule: the kernel's default comes back.
        expect({ ...got, netmask: 0 }).toEqual({ ...s, netmask: 0 });
        if (s.flags & 1)
          expect(
            got.netmask === 0 ? (s.id!.addressFamily === AddressFamily.INET6 ? 128 : 0xffffffff) : got.netmask,
          ).toBe(s.netmask);
        expect(formatService({ ...got, netmask: got.netmask || s.netmask })).toBe(line);
      }),
    );
  });

  it('a written destination reads back to the same destination', () => {
    fc.assert(
      fc.property(service, destination, (s, d) => {
        const line = formatDestination(s.id!, d);
        const back = op(line).operation;
        expect(back.case).toBe('createDestination');
        const v = back.value as { service: unknown; destination: typeof d };
        expect(v.service).toEqual(s.id);
        expect(v.destination).toEqual(d);
      }),
    );
  });

  it("reads ipvsadm's own lines and the long option names", () => {
    expect(op('-A -f 8 -6 -s dh').operation.value).toMatchObject({
      id: { fwMark: 8, addressFamily: AddressFamily.INET6 },
      schedName: 'dh',
    });
    expect(op('--add-service --tcp-service 192.0.2.1:80 --scheduler rr --persistent').operation.value).toMatchObject({
      flags: 1,
      timeout: 360,
    });
    expect(op('-a -t 192.0.2.1:80 -r 198.51.100.1 -g').operation.value).toMatchObject({
      destination: { address: '198.51.100.1', port: 0, forwardingMethod: ForwardingMethod.DIRECT_ROUTE },
    });
    expect(
      parseRules('# comment\n\nipvsadm -C\n-A -t 192.0.2.1:80 -s rr # trailing\n').map((r) => [r.kind, r.line]),
    ).toEqual([
      ['flush', 3],
      ['batch', 4],
    ]);
  });

  it.each([
    ['-A -t 192.0.2.1 -s rr', 'needs a port'],
    ['-A -t 192.0.2.1:99999', 'out of range'],
    ['-a -t 192.0.2.1:80 -r 198.51.100.1 -w many', '-w needs a number'],
    ['-A -t 192.0.2.1:80 -b sh-sideways', 'unknown scheduler flag'],
    ['-A -t 192.0.2.1:80 --frobnicate', 'unknown option'],
    ['-t 192.0.2.1:80', 'no command'],
    ['-a -t 192.0.2.1:80 -m', 'no real server'],
    ['-A -s rr', 'no service'],
    ['-A -A -t 192.0.2.1:80', 'two commands'],
    ['-A -u 192.0.2.1:53 -p 60 -M 255.0.255', 'dotted IPv4 mask'],
  ])('refuses %s (%s)', (line, why) => {
    expect(() => parseRules(`\n${line}\n`)).toThrow(RuleError);
    expect(() => parseRules(`\n${line}\n`)).toThrow(
      new RegExp(`line 2: .*${why.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}`),
    );
  });
});
