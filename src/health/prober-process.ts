// The server's side of a prober: a child process (prober/main.ts) that lives
// in one network namespace and runs the probes sent to it, one JSON line
// each way, results matched by id. The child is checked to be in the
// namespace asked for before it probes anything; when it dies, its pending
// probes fail at once and the next probe starts another (at most once a second).
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monoNow } from './coarse-clock.js';
import { LineBatch } from './line-batch.js';
import { LineSplitter } from './line-splitter.js';
import {
  checkRequest,
  decodeReady,
  decodeResult,
  encodeLine,
  ProbeLineError,
  type ProbeRequest,
  type ProbeResult,
} from './probe.js';

export interface ProberOptions {
  /** Probes the child runs at once; the rest wait there in order. Default 4096. */
  maxInFlight?: number;
  /** Each line the child writes to stderr, and the parent's own complaints about it. */
  onLog?: (line: string) => void;
}

const RESTART_INTERVAL_MS = 1000;
/** tsx compiling the entry inside a one-CPU guest is the slow case. */
const START_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 2000;
/** How long past its timeout a probe's result may come before the probe fails without it. */
const OVERDUE_MS = 10_000;
/** How often pending probes are looked over for one overdue: one timer per child, not one per probe. */
const SWEEP_MS = 1000;

interface Pending {
  resolve: (r: ProbeResult) => void;
  /** Monotonic ms. */
  overdueAt: number;
}

const failed = (id: number, reason: string): ProbeResult => ({ id, ok: false, latencyMs: 0, reason });

/** The child's command line: the TypeScript entry through tsx when this file runs from source, else the built one. */
function entryArgs(): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`./prober/main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  if (!fromSource) return [main];
  // tsx as this checkout has it, whatever the working directory.
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, main];
}

/** The inode of the namespace a prober must report: the file's, or (for '') this process's own. */
function expectedInode(netnsPath: string): number {
  // /proc/self is the main thread: a child spawned while a thread visits another namespace is caught.
  return statSync(netnsPath || '/proc/self/ns/net').ino;
}

/** One child process, from its spawn to its end. */
class Child {
  readonly pending = new Map<number, Pending>();
  /** Why it ended ("prober exited (signal SIGKILL)"), once it has. */
  ended?: string;
  readonly closed: Promise<void>;
  private readonly lines = new LineSplitter();
  private backlog: string[] = [];
  private blocked = false;
  private readonly requests = new LineBatch((chunk) => this.write(chunk));
  private onReady?: (line: string) => void;
  private lastStderr = '';
  private lastLine = monoNow();
  private readonly sweep = setInterval(() => this.sweepOverdue(), SWEEP_MS);

  constructor(
    readonly proc: ChildProcess,
    private readonly log: (line: string) => void,
  ) {
    proc.stdout!.on('data', (chunk: Buffer) => {
      for (const line of this.lines.push(chunk)) this.onLine(line);
    });
    const errLines = new LineSplitter();
    proc.stderr!.on('data', (chunk: Buffer) => {
      for (const line of errLines.push(chunk)) {
        this.lastStderr = line;
        log(line);
      }
    });
    this.sweep.unref();
    // EPIPE once it died: 'close' says so, with the reason.
    proc.stdin!.on('error', () => {});
    this.closed = new Promise((resolve) => {
      // 'close', not 'exit': results written just before the end are still read first.
      proc.once('close', (code, signal) => {
        this.end(signal ? `prober exited (signal ${signal})` : `prober exited (code ${code})`);
        resolve();
      });
      proc.once('error', (err) => {
        this.end(`prober failed: ${err.message}`);
        resolve();
      });
    });
  }

  /** Resolves with the ready line, rejects if the child ends first or takes too long. */
  ready(): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`prober not ready after ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      this.onReady = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.ended}${this.lastStderr ? `: ${this.lastStderr}` : ''}`));
      });
    });
  }

  send(r: ProbeRequest): Promise<ProbeResult> {
    if (this.ended) return Promise.resolve(failed(r.id, this.ended));
    return new Promise((resolve) => {
      this.pending.set(r.id, { resolve, overdueAt: monoNow() + r.timeoutMs + OVERDUE_MS });
      this.requests.add(encodeLine(r));
    });
  }

  /** Writes while the pipe takes them; the rest wait here for 'drain', in order. */
  private write(line: string): void {
    if (this.blocked) {
      this.backlog.push(line);
      return;
    }
    if (this.proc.stdin!.write(line)) return;
    this.blocked = true;
    this.proc.stdin!.once('drain', () => {
      this.blocked = false;
      const lines = this.backlog;
      this.backlog = [];
      for (const l of lines) this.write(l);
    });
  }

  /** Probes far past their timeouts fail here; a child silent that long is stuck and is killed. */
  private sweepOverdue(): void {
    const now = monoNow();
    let overdue = false;
    for (const [id, p] of this.pending) {
      if (p.overdueAt > now) continue;
      overdue = true;
      this.pending.delete(id);
      p.resolve(failed(id, 'no answer from prober'));
    }
    // Its event loop is blocked (a body regex that never ends): only a new child helps.
    if (overdue && now - this.lastLine >= OVERDUE_MS) {
      this.log(`prober ${this.proc.pid}: no line for ${OVERDUE_MS} ms with a probe overdue; killed`);
      this.proc.kill('SIGKILL');
    }
  }

  private onLine(line: string): void {
    this.lastLine = monoNow();
    if (this.onReady) {
      const ready = this.onReady;
      this.onReady = undefined;
      ready(line);
      return;
    }
    try {
      const r = decodeResult(line);
      const p = this.pending.get(r.id);
      if (!p) {
        this.log(`prober ${this.proc.pid}: result for no pending probe (id ${r.id})`);
        return;
      }
      this.pending.delete(r.id);
      p.resolve(r);
    } catch (err) {
      if (!(err instanceof ProbeLineError)) throw err;
      this.log(`prober ${this.proc.pid}: malformed result line: ${err.message}`);
      const p = err.id === undefined ? undefined : this.pending.get(err.id);
      if (p) {
        this.pending.delete(err.id!);
        p.resolve(failed(err.id!, 'malformed result from prober'));
      }
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = reason;
    clearInterval(this.sweep);
    this.backlog = [];
    for (const [id, p] of this.pending) p.resolve(failed(id, reason));
    this.pending.clear();
  }

  /** Ends stdin (the child finishes what it runs, at most 1 s), then SIGKILL if it lingers. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), CLOSE_GRACE_MS);
    await this.closed;
    clearTimeout(timer);
  }
}

/** What is wrong with a child's ready line, if anything: above all, a child in another namespace. */
function readyProblem(line: string, netnsPath: string): string | undefined {
  let inode: number;
  try {
    inode = decodeReady(line).netnsInode;
  } catch (err) {
    return `prober's ready line: ${(err as Error).message}`;
  }
  let want: number;
  try {
    want = expectedInode(netnsPath);
  } catch (err) {
    return `network namespace ${netnsPath}: ${(err as Error).message}`;
  }
  if (inode === want) return undefined;
  return `prober is in network namespace inode ${inode}, not ${netnsPath || 'our own'} (inode ${want})`;
}

/** Spawns a prober for `netnsPath` and waits until it is ready there. */
async function launch(netnsPath: string, o: ProberOptions): Promise<Child> {
  const args = [...entryArgs(), '--netns', netnsPath, '--max-in-flight', String(o.maxInFlight ?? 4096)];
  const child = new Child(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }), o.onLog ?? (() => {}));
  const problem = readyProblem(await child.ready(), netnsPath);
  if (problem) {
    child.proc.kill('SIGKILL');
    await child.closed;
    throw new Error(problem);
  }
  return child;
}

/** A prober child process in one network namespace ('' is the server's own). */
export class ProberProcess {
  private nextId = 1;
  private restarting?: Promise<string | undefined>;
  private isClosed = false;

  private constructor(
    private readonly netnsPath: string,
    private readonly o: ProberOptions,
    private child: Child,
    private lastStart: number,
  ) {}

  static async start(netnsPath: string, o: ProberOptions = {}): Promise<ProberProcess> {
    const t = performance.now();
    return new ProberProcess(netnsPath, o, await launch(netnsPath, o), t);
  }

  /** The current child's pid: another one after a restart. */
  get pid(): number {
    return this.child.proc.pid ?? 0;
  }

  /** Runs one probe in the child. It resolves, never rejects: every failure is a failed result. */
  async probe(req: Omit<ProbeRequest, 'id'>): Promise<ProbeResult> {
    const id = this.nextId++;
    let r: ProbeRequest;
    try {
      r = checkRequest({ ...req, id });
    } catch (err) {
      return failed(id, `invalid request: ${(err as Error).message}`);
    }
    if (this.isClosed) return failed(id, 'prober closed');
    if (this.child.ended) {
      const problem = await this.restart();
      if (problem) return failed(id, problem);
    }
    return this.child.send(r);
  }

  /** One restart for every probe that finds the child dead, at most once a second. */
  private restart(): Promise<string | undefined> {
    this.restarting ??= (async () => {
      const wait = this.lastStart + RESTART_INTERVAL_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.isClosed) return 'prober closed';
      this.lastStart = performance.now();
      try {
        const child = await launch(this.netnsPath, this.o);
        if (this.isClosed) {
          await child.close();
          return 'prober closed';
        }
        this.child = child;
        return undefined;
      } catch (err) {
        return `prober restart failed: ${(err as Error).message}`;
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** Lets the probes in flight finish (at most 1 s), then ends the child; later probes fail "prober closed". */
  async close(): Promise<void> {
    this.isClosed = true;
    await this.restarting;
    await this.child.close();
  }
}
