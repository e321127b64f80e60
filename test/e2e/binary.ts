// The server binary (dist/, as shipped) as e2e tests run it when a test must
// SIGKILL it or see its exit: started on a state directory and a namespace,
// resolved once it listens (after its start-up reconcile). A file that starts
// them kills them after each test with afterEach(killAll): a hook registered
// here, at import, would hold for the first file of a worker only (vitest
// runs the guests' files in one process, isolate: false).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { connectIpvs, type IpvsClient } from '../../src/client/index.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/server/main.js');

/** Every server binary a test started and has not seen exit. */
const running = new Set<ChildProcess>();

/** SIGKILLs every server binary still running (after each test, and where a test must before it cleans up). */
export async function killAll(): Promise<void> {
  for (const p of running) {
    p.kill('SIGKILL');
    if (p.exitCode === null && p.signalCode === null) await once(p, 'exit');
  }
  running.clear();
}

export interface BinaryOptions {
  /** A namespace the server allows (--netns). */
  netns: string;
  /** --unix; none by default. */
  unix?: string;
  more?: string[];
}

const args = (dir: string, o: BinaryOptions) => [
  MAIN,
  ...['--sandbox', 'never', '--listen', '127.0.0.1:0', '--unix', o.unix ?? ''],
  ...['--netns', o.netns, '--state-dir', dir, ...(o.more ?? [])],
];

export class Ipvsd {
  private constructor(
    readonly p: ChildProcess,
    readonly address: string,
    readonly client: IpvsClient,
  ) {}

  static async start(dir: string, o: BinaryOptions): Promise<Ipvsd> {
    const p = spawn(process.execPath, args(dir, o), { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(p);
    let out: string | undefined = '';
    let err = '';
    p.stderr!.on('data', (d) => {
      err += d;
    });
    // Its log line "ipvsd listening" (JSON, on stdout) names the port it got; later lines are read and dropped.
    const address = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`ipvsd not listening after 30 s: ${err}`)), 30_000);
      p.stdout!.on('data', (d) => {
        if (out === undefined) return;
        out += d;
        const line = out.split('\n').find((l) => l.includes('"msg":"ipvsd listening"'));
        if (line === undefined) return;
        out = undefined;
        clearTimeout(timer);
        ok((JSON.parse(line) as { addresses: string[] }).addresses[0]!);
      });
      p.once('exit', (code) => fail(new Error(`ipvsd exited ${code} before listening: ${err}`)));
    });
    return new Ipvsd(p, address, connectIpvs(address));
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    const gone = once(this.p, 'exit');
    this.p.kill('SIGKILL');
    await gone;
    running.delete(this.p);
    this.client.close();
  }

  /** SIGTERM: the exit status. */
  async stop(): Promise<number | null> {
    this.client.close();
    const gone = once(this.p, 'exit');
    this.p.kill('SIGTERM');
    const [code] = await gone;
    running.delete(this.p);
    return code as number | null;
  }
}

/** The server binary run on a state directory it must refuse: status, stdout (JSON logs) and stderr. */
export async function refusedStart(
  dir: string,
  o: BinaryOptions,
): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, args(dir, o), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(p);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => {
    out += d;
  });
  p.stderr!.on('data', (d) => {
    err += d;
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
  const [code] = await once(p, 'close');
  clearTimeout(timer);
  running.delete(p);
  return { code: code as number | null, out, err };
}
