// Replays bytes recorded from Linux 6.1 (test/fixtures/kernel.json; re-record
// with `npm run fixtures:record`): the kernel's replies decode to the models
// of scenario.ts, and the requests ipvsd builds are, byte for byte, the ones
// the recorder proved rebuild ipvsadm's rules.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RequestWriter } from '../../src/genetlink/message.js';
import { Outbox } from '../../src/netlink/outbox.js';
import { decodeReply, destinationRequest, replyAttributes, serviceRequest } from '../../src/ipvs/command.js';
import { decodeConfig, decodeInfo, encodeConfig } from '../../src/ipvs/config.js';
import { Cmd, CmdAttr, GENL_VERSION } from '../../src/ipvs/constants.js';
import { decodeDestination } from '../../src/ipvs/destination.js';
import { decodeService } from '../../src/ipvs/service.js';
import { zeroStats } from '../../src/ipvs/stats.js';
import { normalDestination, normalService, normalServiceId } from '../../src/ipvs/validate.js';
import type { AttributeDecoder } from '../../src/netlink/attribute-decoder.js';
import { KernelError } from '../../src/netlink/error.js';
import { CONFIG, SERVICES } from '../fixtures/scenario.js';

interface Fixture {
  recorded: { kernel: string; ipvsadm: string };
  familyId: number;
  services: {
    ipvsadm: string;
    reply: string;
    request: string;
    destinations: { replies: string[]; requests: string[] };
  }[];
  config: { reply: string; request: string };
  info: { reply: string };
}
const fixture: Fixture = JSON.parse(readFileSync(new URL('../fixtures/kernel.json', import.meta.url), 'utf8'));
const bytes = (hex: string) => Buffer.from(hex, 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const writer = () => new RequestWriter(fixture.familyId, GENL_VERSION);
const byAddress = <T extends { address: string }>(xs: T[]) =>
  [...xs].sort((a, b) => a.address.localeCompare(b.address));

describe(`kernel replies recorded from Linux ${fixture.recorded.kernel}`, () => {
  it('cover the scenario, rule for rule', () => {
    expect(fixture.services.map((s) => s.ipvsadm)).toEqual(SERVICES.map((s) => s.ipvsadm));
  });

  it.each(SERVICES.map((s, i) => [s.ipvsadm, i] as const))('decode the service of `%s`', (_, i) => {
    const got = decodeReply('fixture', bytes(fixture.services[i]!.reply), CmdAttr.Service, decodeService);
    expect(got).toEqual({ ...SERVICES[i]!.kernel, stats: zeroStats() });
  });

  it.each(SERVICES.map((s, i) => [s.ipvsadm, i] as const))('decode the destinations of `%s`', (_, i) => {
    const family = SERVICES[i]!.kernel.addressFamily;
    const got = fixture.services[i]!.destinations.replies.map((r) =>
      decodeReply('fixture', bytes(r), CmdAttr.Dest, (d) => decodeDestination(d, family)),
    );
    expect(byAddress(got)).toEqual(
      byAddress(SERVICES[i]!.destinations.map((d) => ({ ...d.kernel, stats: zeroStats() }))),
    );
  });

  it('decode the timeouts and the version', () => {
    expect(decodeConfig(replyAttributes('fixture', bytes(fixture.config.reply)))).toEqual(CONFIG.config);
    expect(decodeInfo(replyAttributes('fixture', bytes(fixture.info.reply)))).toEqual({
      version: '1.2.1',
      versionCode: 0x010201,
      connectionTableSize: 4096,
    });
  });

  it('never fail with anything but KernelError when mutated', () => {
    const replies: { hex: string; type: number; decode: (d: AttributeDecoder) => unknown }[] = fixture.services.flatMap(
      (s) => [
        { hex: s.reply, type: CmdAttr.Service, decode: decodeService },
        ...s.destinations.replies.map((r) => ({
          hex: r,
          type: CmdAttr.Dest,
          decode: (d: AttributeDecoder) => decodeDestination(d, 2),
        })),
      ],
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...replies),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (r, edits, cut) => {
          const b = bytes(r.hex);
          for (const [at, v] of edits) b[at % b.length] = v;
          const input = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
          try {
            decodeReply('fuzz', input, r.type, r.decode);
          } catch (e) {
            expect(e).toBeInstanceOf(KernelError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("requests, byte for byte as recorded (proven in the kernel to rebuild ipvsadm's rules)", () => {
  it.each(SERVICES.map((s, i) => [s.ipvsadm, i] as const))('create `%s` and its destinations', (_, i) => {
    const s = SERVICES[i]!;
    const w = writer();
    const box = new Outbox();
    const id = normalServiceId(s.input, 'test');
    expect(hex(box.payload(serviceRequest(w, box, Cmd.NewService, normalService(s.input, 'test'), true)))).toBe(
      fixture.services[i]!.request,
    );
    expect(
      s.destinations.map((d) =>
        hex(box.payload(destinationRequest(w, box, Cmd.NewDest, id, normalDestination(id, d.input, 'test'), true))),
      ),
    ).toEqual(fixture.services[i]!.destinations.requests);
  });

  it('set the timeouts', () => {
    const box = new Outbox();
    expect(hex(box.payload(writer().request(box, Cmd.SetConfig, (e) => encodeConfig(e, CONFIG.config))))).toBe(
      fixture.config.request,
    );
  });
});
