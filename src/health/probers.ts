// One prober process per network namespace, shared by every desired state
// that checks destinations there, started as soon as one asks for it (a
// Node process takes a second or more to start). A prober that
// cannot start (its namespace gone) makes each probe a failure, which the
// checks then count as they would a dead server.
import type { Prober } from './monitor.js';
import type { ProbeRequest, ProbeResult } from './probe.js';
import { ProberProcess } from './prober-process.js';

interface Running {
  probe(r: Omit<ProbeRequest, 'id'>): Promise<ProbeResult>;
  close(): Promise<void>;
}

export class Probers {
  private readonly running = new Map<string, Promise<Running>>();

  constructor(private readonly start: (netnsPath: string) => Promise<Running> = (p) => ProberProcess.start(p)) {}

  /** The prober of the namespace at `netnsPath` ('' for the server's own), starting it now if it is not running. */
  of(netnsPath: string): Prober {
    this.get(netnsPath).catch(() => undefined);
    return {
      probe: async (r) => {
        try {
          return await (await this.get(netnsPath)).probe(r);
        } catch (e) {
          return { id: 0, ok: false, latencyMs: 0, reason: `prober: ${(e as Error).message}` };
        }
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const p of all) await (await p.catch(() => undefined))?.close();
  }

  private get(path: string): Promise<Running> {
    let p = this.running.get(path);
    if (!p) {
      p = this.start(path);
      // A start that failed is tried again at the next probe.
      p.catch(() => this.running.delete(path));
      this.running.set(path, p);
    }
    return p;
  }
}
