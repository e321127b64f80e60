// Removing what a deleted desired state owned: every service within its
// scope. A state that drains has its destinations drained instead; with a
// drain time limit the handle's Drainer deletes each when idle or overdue,
// and each service is deleted here once it is empty or its time is up. The
// pending deletions live in memory: a restart meanwhile leaves what remains.
import { KernelError, applyState, type ApplyResult, type Handle, type ServiceId } from '../ipvs/index.js';
import { applyOptions, type DesiredSpec, type Log } from './spec.js';

/** How often emptied services are looked for; the Drainer checks every second too. */
const CHECK_MS = 1000;
/** Past the drain time limit, how long the Drainer gets to delete the last destinations first. */
const GRACE_MS = 3000;

export async function removeOwned(handle: Handle, spec: DesiredSpec, log: Log): Promise<ApplyResult> {
  if (!spec.drain || !spec.prune) return applyState(handle, [], { scope: spec.scope, prune: true });
  // Its services still desired, with none of their destinations: each destination is drained.
  const emptied = spec.services.map((s) => ({ ...s, destinations: [] }));
  const r = await applyState(handle, emptied, applyOptions(spec, handle, log));
  if (spec.drainTimeoutMs !== undefined) deleteWhenEmpty(handle, emptied, Date.now() + spec.drainTimeoutMs, log);
  return r;
}

const gone = (e: unknown) => e instanceof KernelError && (e.errno === 'ESRCH' || e.errno === 'ENOENT');

/** Deletes each service once it has no destinations left, or at `deadline` (plus grace) whatever it has. */
function deleteWhenEmpty(handle: Handle, services: ServiceId[], deadline: number, log: Log): void {
  let pending = services;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const late = Date.now() >= deadline + GRACE_MS;
    const left: ServiceId[] = [];
    for (const s of pending) {
      if (handle.closed) break;
      try {
        if (!late && (await handle.getDestinations(s)).length) {
          left.push(s);
          continue;
        }
        await handle.delService(s);
        log.info({ namespace: handle.netns, late }, 'deleted a drained service of a deleted desired state');
      } catch (e) {
        if (!gone(e)) left.push(s);
      }
    }
    pending = late || handle.closed ? [] : left;
    busy = false;
    if (!pending.length) clearInterval(timer);
  }, CHECK_MS);
  timer.unref();
}
