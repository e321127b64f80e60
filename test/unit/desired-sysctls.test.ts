// A desired state's sysctls: kept by the store's file format as they were put (fast-check), shown by Get, checked
// with the spec (the field path under desired_state), and two desired states of a namespace never wanting one
// sysctl otherwise.
import { create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { checkSpec } from '../../src/desired/checks.js';
import { Drift } from '../../src/desired/drift.js';
import { decodeState, encodeState } from '../../src/desired/format.js';
import { noCounts } from '../../src/desired/status.js';
import { checkSysctlClash } from '../../src/desired/sysctls.js';
import { SYSCTLS, ValidationError } from '../../src/ipvs/index.js';
import { decodeSpec, desiredPath, specData, specIn, stateOut } from '../../src/server/convert-desired.js';

const setting = fc.record({
  name: fc.constantFrom(...SYSCTLS.map((s) => s.name)),
  value: fc.oneof(fc.constantFrom('0', '1', '3 50', '2'), fc.string()),
});

const message = (sysctls: { name: string; value: string }[]) =>
  create(api.DesiredStateSchema, { namespace: 'blue', sysctls });

describe("a desired state's sysctls", () => {
  it('round-trip the store file format as they were put, in order, and Get shows them', () => {
    fc.assert(
      fc.property(fc.array(setting, { maxLength: 8 }), (sysctls) => {
        const data = specData(message(sysctls));
        const bytes = encodeState({ name: 'desiredStates/web', generation: 3, spec: data });
        const back = decodeState(bytes, 'web.json', 'web');
        expect(back.spec).toEqual(data);
        expect(decodeSpec(back.spec).sysctls).toEqual(sysctls);
        const shown = stateOut(
          {
            name: 'desiredStates/web',
            generation: 3,
            spec: decodeSpec(back.spec),
            data: back.spec,
            drift: new Drift(),
            counts: noCounts(),
          },
          false,
        );
        expect(shown.sysctls.map(({ name, value }) => ({ name, value }))).toEqual(sysctls);
      }),
    );
  });

  it('are checked with the spec: a refusal names desired_state.sysctls[i] and its field', () => {
    const spec = specIn(
      message([
        { name: 'conntrack', value: '1' },
        { name: 'sync_retries', value: '9' },
      ]),
    );
    let e: unknown;
    try {
      checkSpec(spec);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ValidationError);
    expect(desiredPath(e as ValidationError)).toBe('desired_state.sysctls[1].value');
    expect(() => checkSpec(specIn(message([{ name: 'net.ipv4.vs.conntrack', value: '1' }])))).not.toThrow();
  });

  it('two desired states of a namespace may want the same value of a sysctl, never different ones', () => {
    const state = (name: string, sysctls: { name: string; value: string }[]) => ({
      name,
      spec: specIn(message(sysctls)),
    });
    const mine = state('desiredStates/a', [
      { name: 'conntrack', value: '1' },
      { name: 'drop_entry', value: '1' },
    ]);
    expect(() =>
      checkSysctlClash(mine.spec, state('desiredStates/b', [{ name: 'conntrack', value: ' 1' }])),
    ).not.toThrow();
    // 1 and 2 are the same automatic defense mode.
    expect(() =>
      checkSysctlClash(mine.spec, state('desiredStates/b', [{ name: 'drop_entry', value: '2' }])),
    ).not.toThrow();
    expect(() =>
      checkSysctlClash(mine.spec, state('desiredStates/b', [{ name: 'net.ipv4.vs.conntrack', value: '0' }])),
    ).toThrow(expect.objectContaining({ reason: 'overlap', field: 'sysctls[0].value' }));
  });
});
