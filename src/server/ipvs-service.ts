// ipvs.v1.IpvsService: its handlers, typed from the descriptor, gathered
// from the rooms that implement them.
import { addresses } from './addresses.js';
import { apply } from './apply.js';
import { connections } from './connections.js';
import { desired } from './desired.js';
import { health } from './health.js';
import { room, type IpvsImplementation, type IpvsServiceOptions } from './room.js';
import { services } from './services.js';
import { sysctls } from './sysctls.js';
import { system } from './system.js';
import { watches } from './watch.js';

export type { IpvsImplementation, IpvsServiceOptions };

export function ipvsService(o: IpvsServiceOptions): IpvsImplementation {
  const r = room(o);
  return {
    ...services(r),
    ...apply(r),
    ...desired(r),
    ...health(r),
    ...watches(r),
    ...system(r),
    ...sysctls(r),
    ...addresses(r),
    ...connections(r),
  };
}
