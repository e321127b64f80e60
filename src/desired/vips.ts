// A desired state's VIPs (its spec's `vips`): every address of its services
// kept as a local address on one interface, a dummy one created when
// absent, as kube-proxy keeps kube-ipvs0. A state owns the global addresses
// of that interface within its scope, so two desired states of a namespace
// (whose scopes never overlap) never own the same address. With prune, the
// owned addresses no service wants are deleted, except, with drain, one a
// service still on the kernel uses: its connections drain through it.
import { isGlobal, type AddressEntry } from '../addresses/addresses.js';
import { dropAddresses, keepAddresses, type KeepOutcome } from '../addresses/keep.js';
import { AddressError, checkInterfaceName, normalAddress, type NormalAddress } from '../addresses/validate.js';
import { owns, type ServiceWithDestinations } from '../ipvs/index.js';
import { DesiredStateError } from './checks.js';
import type { HeldState } from './held.js';
import type { DesiredSpec, Log } from './spec.js';
import type { Trigger } from './status.js';

export interface VipSpec {
  /** The interface the VIPs go on (created as a dummy one when absent). */
  interface: string;
}

export type VipOutcome = KeepOutcome;

/** The interface name of `vips`, checked: DesiredStateError at "vips.interface". */
export function checkVips(spec: DesiredSpec): void {
  if (!spec.vips) return;
  try {
    checkInterfaceName('desiredState', spec.vips.interface);
  } catch (e) {
    if (e instanceof AddressError) throw new DesiredStateError('invalid', `vips.${e.detail}`, 'vips.interface');
    throw e;
  }
}

/** Each distinct address of the spec's services (firewall-mark ones have none), full length. */
export function desiredVips(spec: DesiredSpec): NormalAddress[] {
  const out = new Map<string, NormalAddress>();
  for (const s of spec.services) {
    if (s.fwMark || !s.address) continue;
    const a = normalAddress('desiredState', s.address, 0);
    out.set(a.address, a);
  }
  return [...out.values()];
}

/** Whether `a`, an address of the VIP interface, is the spec's to delete. */
const owned = (spec: DesiredSpec, a: AddressEntry) =>
  isGlobal(a) && owns(spec.scope, { addressFamily: a.family, address: a.address, fwMark: 0 });

/**
 * Puts the spec's VIPs on its interface in namespace `netns` (a path; '' for the server's own); `current` is the
 * kernel's listing of IPVS services the reconcile started from. Throws KernelError when the kernel refuses.
 */
export function reconcileVips(
  netns: string,
  spec: DesiredSpec,
  current: readonly ServiceWithDestinations[],
): Promise<VipOutcome> {
  // With drain, a service still on the kernel keeps its address: connections to it drain through the VIP.
  const inUse = new Set(spec.drain ? current.filter((s) => !s.fwMark).map((s) => s.address) : []);
  return keepAddresses(
    netns,
    spec.vips!.interface,
    desiredVips(spec),
    (a) => spec.prune && owned(spec, a) && !inUse.has(a.address),
  );
}

/** Deletes every address the spec owns on its VIP interface (a deleted desired state's); those deleted. */
export const removeVips = (netns: string, spec: DesiredSpec): Promise<string[]> =>
  dropAddresses(netns, spec.vips!.interface, (a) => owned(spec, a));

/**
 * A reconcile's VIPs, after its rules: what changed without a Put is logged as drift put back; a refusal fails the
 * reconcile's status (its rules' counts stay) and is logged.
 */
export async function keepVips(
  s: HeldState,
  netns: string,
  current: readonly ServiceWithDestinations[],
  trigger: Trigger,
  log: Log,
): Promise<void> {
  try {
    const o = await reconcileVips(netns, s.spec, current);
    if ((o.added.length || o.deleted.length) && trigger !== 'put')
      log.info({ name: s.name, trigger, ...o }, 'VIPs corrected');
  } catch (e) {
    s.status = { ...s.status!, inSync: false, error: e };
    log.warn({ name: s.name, namespace: s.spec.namespace, err: String(e) }, 'VIPs not kept');
  }
}

/** A deleted desired state's VIPs removed, unless it drains (its services still do, through them). */
export async function dropVips(s: HeldState, netns: string, log: Log): Promise<void> {
  if (s.spec.drain && s.spec.prune) return;
  try {
    const gone = await removeVips(netns, s.spec);
    log.info({ name: s.name, deleted: gone }, 'VIPs removed with their desired state');
  } catch (e) {
    log.warn({ name: s.name, namespace: s.spec.namespace, err: String(e) }, 'VIPs not removed');
  }
}
