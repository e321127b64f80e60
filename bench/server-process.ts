// The server as its own process inside the guest (dist/, as shipped), so that
// a benchmark reads its memory and CPU from /proc apart from the client's.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectIpvs, type IpvsClient } from '../src/client/index.js';
import { freePort } from '../src/sandbox/slirp.js';

export interface ServerProcess {
  port: number;
  /** A client with `channelOptions` (for big test messages) once the server answers. */
  connect(channelOptions?: Record<string, number>): Promise<IpvsClient>;
  /** Resident memory now and at its peak, in MiB. */
  rss(): { now: number; peak: number };
  /** CPU milliseconds used so far (user + system). */
  cpuMs(): number;
  /** SIGTERM, and resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts dist/src/server/main.js on a free port with `args` and `stateDir` (default: a throwaway one). */
export async function startServerProcess(
  args: string[],
  stateDir = mkdtempSync(join(tmpdir(), 'ipvsd-bench-state-')),
): Promise<ServerProcess> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [
      'dist/src/server/main.js',
      ...['--sandbox', 'never', '--log-level', 'warn', '--listen', `127.0.0.1:${port}`, '--unix', ''],
      ...['--state-dir', stateDir, ...args],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const status = () => readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return {
    port,
    async connect(channelOptions = {}) {
      const c = connectIpvs(`127.0.0.1:${port}`, { channelOptions });
      await new Promise<void>((resolve, reject) =>
        c.grpc.waitForReady(Date.now() + 60_000, (e) => (e ? reject(e) : resolve())),
      );
      return c;
    },
    rss() {
      const s = status();
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]) / 1024;
      return { now: kb('VmRSS'), peak: kb('VmHWM') };
    },
    cpuMs() {
      const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
    },
    stop: async () => {
      server.kill('SIGTERM');
      if (server.exitCode === null) await once(server, 'exit');
    },
  };
}
