// One probe of any kind. It resolves, never rejects: a prober bug becomes a
// failed probe that says so, not a lost result.
import type { ProbeRequest, ProbeResult } from '../probe.js';
import { probeExec } from './exec.js';
import { probeGrpc } from './grpc.js';
import { probeHttp } from './http.js';
import { errorReason } from './outcome.js';
import { probeTcp } from './tcp.js';
import { probeUdp } from './udp.js';

const BY_KIND = { tcp: probeTcp, http: probeHttp, grpc: probeGrpc, udp: probeUdp, exec: probeExec } as const;

export async function runProbe(r: ProbeRequest): Promise<ProbeResult> {
  try {
    return await BY_KIND[r.kind](r);
  } catch (err) {
    return { id: r.id, ok: false, latencyMs: 0, reason: `prober error: ${errorReason(err)}` };
  }
}
