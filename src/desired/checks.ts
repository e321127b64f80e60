// What a Put or Delete must pass before anything is stored: a name of the
// API's pattern, the expected generation, a sound spec; and the one error
// that says why not, for the server to tell as a status.
import { CheckError } from '../health/check.js';
import { targetsOf } from '../health/targets.js';
import { checkSysctlSettings, plan } from '../ipvs/index.js';
import { checkDrain, type DesiredSpec } from './spec.js';
import { scopeNets } from './scope.js';
import { checkVips } from './vips.js';

/** "desiredStates/{id}": the id as an RFC 1035 label (AIP-122). */
export const NAME = /^desiredStates\/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a Put or Delete was refused, for the server to tell as a status. */
export class DesiredStateError extends Error {
  constructor(
    readonly reason: 'not-found' | 'aborted' | 'overlap' | 'immutable' | 'invalid',
    message: string,
    /** The refused field, as the request names it under the desired state ("scope", "namespace", "name"). */
    readonly field?: string,
  ) {
    super(message);
  }
}

export function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new DesiredStateError(
      'invalid',
      `name ${JSON.stringify(name)} is not desiredStates/ID (ID: 1 to 63 of a-z, 0-9 and "-", starting with a letter, not ending with "-")`,
      'name',
    );
  }
}

export function checkGeneration(name: string, cur: { generation: number } | undefined, expected: number): void {
  if (expected < -1 || !Number.isSafeInteger(expected))
    throw new DesiredStateError('invalid', `expected_generation ${expected} is not -1, 0 or a generation`);
  if (expected === 0) return;
  const have = cur?.generation ?? 0;
  if (expected === -1 ? have !== 0 : have !== expected) {
    const wanted = expected === -1 ? 'none (expected_generation -1)' : `generation ${expected}`;
    throw new DesiredStateError('aborted', `${name} is at generation ${have}, not ${wanted}: read it again`);
  }
}

/**
 * What a spec must be beyond what its parts' own validation says: a sound scope, owning every service, health
 * checks of desired destinations only (CheckError), and known sysctls in range (ValidationError).
 */
export function checkSpec(spec: DesiredSpec): void {
  scopeNets(spec.scope);
  checkDrain(spec);
  // Planning against an empty kernel is the Apply core's whole validation: services, destinations, scope.
  plan([], spec.services, { scope: spec.scope });
  targetsOf(spec.services, spec.health);
  checkVips(spec);
  checkSysctlSettings(spec.sysctls);
  if (spec.prune) return;
  // Without prune, what health takes out would stay on the kernel.
  const i = spec.health.findIndex((h) => h.onDown === 'remove');
  if (i >= 0) throw new CheckError(`health[${i}].on_down`, "REMOVE needs the desired state's prune");
  const j = spec.health.findIndex((h) => h.quorum?.sorry.length);
  if (j >= 0) throw new CheckError(`health[${j}].sorry_servers`, "sorry servers need the desired state's prune");
}
