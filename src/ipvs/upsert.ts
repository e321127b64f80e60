// Upsert of a destination: created, or, where the kernel holds it already,
// updated to what is given.
import { KernelError } from '../netlink/error.js';
import type { Handle } from './handle.js';
import type { DestinationInput, ServiceId } from './model.js';

/**
 * Creates destination `d` of service `s`; should it exist already (EEXIST),
 * replaces its options instead. Resolves true when it created, false when it
 * updated; any other failure is thrown as it is.
 */
export async function upsertDestination(h: Handle, s: ServiceId, d: DestinationInput): Promise<boolean> {
  try {
    await h.newDestination(s, d);
    return true;
  } catch (e) {
    if (!(e instanceof KernelError) || e.errno !== 'EEXIST') throw e;
  }
  await h.updateDestination(s, d);
  return false;
}
