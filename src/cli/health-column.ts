// `ipvsctl watch --health NAME`: a desired state's destination health, listed
// again at each tick (every page of ListDestinationHealth), as one cell per
// destination row: "up 4s", "down 12s", "unknown 3s" (the state and for how
// long), "-" for a destination that is not checked. A listing that fails
// keeps the last good one on screen and says why in the header; only a first
// listing that names no such desired state (or a server without health) ends
// the watch.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { type DestinationHealth, type IpvsClient, IpvsError, type ServiceId, status } from '../client/index.js';
import { canonicalAddress, familyOf } from '../inet/address.js';
import { ago, STATE } from './health-format.js';

/** The cell's width: "unknown 119s". */
export const HEALTH_WIDTH = 12;

/** Failures of a first listing that no later tick can mend: a wrong name, or no such RPC. */
const FATAL = new Set<number>([
  status.NOT_FOUND,
  status.INVALID_ARGUMENT,
  status.PERMISSION_DENIED,
  status.UNIMPLEMENTED,
]);

const canonical = (address: string) => {
  const family = familyOf(address);
  return family ? canonicalAddress(family, address) : address;
};

/** One destination of one service, the same whether WatchStats or health names it. */
export function destinationKey(service: ServiceId, address: string, port: number): string {
  const s = service.fwMark
    ? `fwm ${service.fwMark} ${service.addressFamily}`
    : `${service.protocol} ${canonical(service.address)} ${service.port}`;
  return `${s} ${canonical(address)} ${port}`;
}

export class HealthColumn {
  /** "desiredStates/web". */
  readonly name: string;
  private rows = new Map<string, DestinationHealth>();
  /** Why the last listing failed ('' once one succeeds). */
  private error = '';

  constructor(
    private readonly client: IpvsClient,
    id: string,
  ) {
    this.name = id.startsWith('desiredStates/') ? id : `desiredStates/${id}`;
  }

  /** Lists the health again, giving up after `timeoutMs`; `first` lets a wrong name end the watch. */
  async refresh(signal: AbortSignal, timeoutMs: number, first = false): Promise<void> {
    try {
      const rows = new Map<string, DestinationHealth>();
      for await (const d of this.client.listAllDestinationHealth(
        { parent: this.name },
        { signal, deadline: timeoutMs },
      ))
        if (d.service) rows.set(destinationKey(d.service, d.address, d.port), d);
      this.rows = rows;
      this.error = '';
    } catch (e) {
      if (signal.aborted) return;
      if (first && e instanceof IpvsError && FATAL.has(e.code)) throw e;
      this.error = e instanceof IpvsError ? `${e.details} (${status[e.code]})` : (e as Error).message;
    }
  }

  /** The header's note: whose health, and why it may be stale. */
  title(): string {
    return `health of ${this.name}${this.error ? `  (listing failed, showing the last: ${this.error})` : ''}`;
  }

  /** The cell of one destination row, `now` being the tick's time. */
  cell(service: ServiceId, address: string, port: number, now: Date): string {
    const d = this.rows.get(destinationKey(service, address, port));
    if (!d) return '-';
    const state = STATE[d.state] ?? String(d.state);
    return d.since ? `${state} ${ago(timestampDate(d.since), now)}` : state;
  }
}
