import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestWriter } from '../../src/genetlink/message.js';
import { formatHostPort } from '../../src/inet/address.js';
import { describeRequest, ItemWriter, type WriteOp } from '../../src/ipvs/batch.js';
import { GENL_VERSION } from '../../src/ipvs/constants.js';
import type { NormalServiceId } from '../../src/ipvs/validate.js';
import { describeService, normalDestination, normalServiceId } from '../../src/ipvs/validate.js';
import type { ServiceId } from '../../src/ipvs/model.js';
import { Outbox } from '../../src/netlink/outbox.js';

const service = fc.oneof(
  fc.record({ address: fc.ipV4(), protocol: fc.constantFrom(6, 17, 132), port: fc.integer({ min: 1, max: 0xffff }) }),
  fc.record({ address: fc.ipV6(), protocol: fc.constantFrom(6, 17, 132), port: fc.integer({ min: 1, max: 0xffff }) }),
  fc.record({ fwMark: fc.integer({ min: 1, max: 0xffffffff }), addressFamily: fc.constantFrom(2, 10) }),
);
const op = fc.constantFrom(
  'newService',
  'updateService',
  'delService',
  'newDestination',
  'updateDestination',
  'delDestination',
);

describe('batch items', () => {
  it('a failed request is named from its own bytes, as its models name it', () => {
    fc.assert(
      fc.property(service, op, fc.ipV4(), fc.ipV6(), fc.integer({ min: 0, max: 0xffff }), (s, kind, v4, v6, port) => {
        const box = new Outbox();
        const svc: NormalServiceId = normalServiceId(s as ServiceId, 'test');
        const address = svc.addressFamily === 2 ? v4 : v6;
        const at = new ItemWriter(new RequestWriter(30, GENL_VERSION), box).write(
          kind as WriteOp,
          { ...s, schedName: 'rr' },
          kind.endsWith('Service') ? undefined : { address, port },
        );
        const named = kind.endsWith('Service')
          ? `${kind} ${describeService(svc)}`
          : `${kind} ${formatHostPort(normalDestination(svc, { address, port }, 'test'))} of ${describeService(svc)}`;
        expect(describeRequest(box.payload(at))).toBe(named);
      }),
    );
  });
});
