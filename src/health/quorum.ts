// A service's quorum (keepalived's): the least total weight of its
// destinations that are up. Below quorum - hysteresis it is lost and the
// sorry servers go in; at quorum + hysteresis it is back and they go out, so
// that one flapping server cannot flap them.
import type { DestinationInput } from '../ipvs/index.js';

export interface QuorumSpec {
  min: number;
  hysteresis: number;
  /** Put in while quorum is lost. */
  sorry: DestinationInput[];
}

export class Quorum {
  private up: boolean | undefined;

  constructor(readonly spec: QuorumSpec) {}

  /** Whether the sorry servers are in. */
  get lost(): boolean {
    return this.up === false;
  }

  /** Judges a total weight; true when quorum was lost or came back. The first judgement only sets it. */
  judge(total: number): boolean {
    const { min, hysteresis } = this.spec;
    if (this.up === undefined) {
      this.up = total >= min;
      return !this.up;
    }
    const was = this.up;
    if (was && total < min - hysteresis) this.up = false;
    else if (!was && total >= min + hysteresis) this.up = true;
    return was !== this.up;
  }
}
