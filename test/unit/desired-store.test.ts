// The desired-state store (src/desired/store.ts) on real files in a temporary directory: what is put is read back
// after a reopen, at its generation; a file that does not load stops the open with its path, the reason and the one
// `mv` that restores the last good version; a writer SIGKILLed at random points loses nothing it acknowledged and
// tears no file. (The file format's own properties: desired-format.test.ts.)
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeState, encodeState } from '../../src/desired/format.js';
import { DesiredStore, StoreError, type StoredDesiredState } from '../../src/desired/store.js';
import { NAMES, specOf } from './desired-store-writer.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WRITER = join(import.meta.dirname, 'desired-store-writer.ts');

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ipvsd-store-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const WEB = 'desiredStates/web';
const web = (generation: number, spec: unknown = { port: 80 + generation }): StoredDesiredState => ({
  name: WEB,
  generation,
  spec,
});
/** The server's check, as it might be: ports are 16-bit. */
const ports = (s: StoredDesiredState) => {
  const port = (s.spec as { port?: number }).port ?? 0;
  if (port > 65535) throw new Error(`spec.port ${port} is not 0 to 65535`);
};

async function openFails(dir: string, validate?: (s: StoredDesiredState) => void): Promise<StoreError> {
  const e = await DesiredStore.open(dir, validate).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(StoreError);
  return e as StoreError;
}

/** Runs the command the error ends with, as an operator pasting it would. */
function runRecovery(e: StoreError): void {
  const cmd = /: (mv .+)$/.exec(e.message)?.[1];
  expect(cmd, e.message).toBeDefined();
  const r = spawnSync('sh', ['-c', cmd!], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('the desired-state store', () => {
  it('creates its directory 0700 and reads back, after a reopen, what was put, at the generation given', async () => {
    const dir = join(await tempDir(), 'var', 'lib', 'ipvsd');
    const store = await DesiredStore.open(dir);
    expect(store.list()).toEqual([]);
    await store.put(web(7, { port: 80, scope: { addresses: ['192.0.2.1'] } }));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const again = await DesiredStore.open(dir);
    expect(again.get(WEB)).toEqual(web(7, { port: 80, scope: { addresses: ['192.0.2.1'] } }));
    await again.put(web(8));
    expect((await DesiredStore.open(dir)).get(WEB)?.generation).toBe(8);
  });

  it('lists in name order, and get answers undefined for a name it does not hold', async () => {
    const store = await DesiredStore.open(await tempDir());
    for (const id of ['charlie', 'alpha', 'bravo-2', 'bravo']) {
      await store.put({ name: `desiredStates/${id}`, generation: 1, spec: { id } });
    }
    const names = ['desiredStates/alpha', 'desiredStates/bravo', 'desiredStates/bravo-2', 'desiredStates/charlie'];
    expect(store.list().map((s) => s.name)).toEqual(names);
    expect((await DesiredStore.open(store.dir)).list().map((s) => s.name)).toEqual(names);
    expect(store.get('desiredStates/delta')).toBeUndefined();
  });

  it('writes <id>.json in the versioned format, keeping the version it replaced as <id>.prev.json', async () => {
    const store = await DesiredStore.open(await tempDir());
    await store.put(web(1));
    await store.put(web(2));
    const file = JSON.parse(await readFile(join(store.dir, 'web.json'), 'utf8'));
    expect(Object.keys(file)).toEqual(['format', 'version', 'name', 'generation', 'sha256', 'spec']);
    expect(file).toMatchObject({ format: 'ipvsd.desired-state', version: 1, name: WEB, generation: 2 });
    const prev = await readFile(join(store.dir, 'web.prev.json'));
    expect(decodeState(prev, 'web.prev.json', 'web')).toEqual(web(1));
    expect((await readdir(store.dir)).sort()).toEqual(['web.json', 'web.prev.json']);
  });

  it('deletes durably; the deleted version stays as <id>.prev.json (one mv undoes) until the name is created again', async () => {
    const store = await DesiredStore.open(await tempDir());
    await store.put(web(1));
    await store.put(web(2));
    await store.delete(WEB);
    expect(store.list()).toEqual([]);
    expect((await DesiredStore.open(store.dir)).list()).toEqual([]);
    expect(await readdir(store.dir)).toEqual(['web.prev.json']);
    spawnSync('mv', [join(store.dir, 'web.prev.json'), join(store.dir, 'web.json')]);
    const undone = await DesiredStore.open(store.dir);
    expect(undone.get(WEB)).toEqual(web(2));
    await undone.delete(WEB);
    await undone.put(web(1, { port: 443 }));
    expect(await readdir(store.dir)).toEqual(['web.json']);
    await undone.delete('desiredStates/nothing');
    await undone.delete('not a name');
    expect(undone.list()).toEqual([web(1, { port: 443 })]);
  });

  it('writes one at a time, in call order, and resolves in that order', async () => {
    const store = await DesiredStore.open(await tempDir());
    const done: string[] = [];
    const calls: Promise<unknown>[] = [];
    for (let g = 1; g <= 20; g++) calls.push(store.put(web(g)).then(() => done.push(`put ${g}`)));
    calls.push(store.delete(WEB).then(() => done.push('delete')));
    calls.push(store.put(web(1, { port: 8080 })).then(() => done.push('put again')));
    await Promise.all(calls);
    expect(done).toEqual([...Array.from({ length: 20 }, (_, i) => `put ${i + 1}`), 'delete', 'put again']);
    expect((await DesiredStore.open(store.dir)).list()).toEqual([web(1, { port: 8080 })]);
  });

  it('takes a state as it is at the call and as the file reads back, and hands out frozen states', async () => {
    const store = await DesiredStore.open(await tempDir());
    const spec = { port: 80, gone: undefined, weights: [1, 2] };
    const put = store.put(web(1, spec));
    spec.port = 81;
    await put;
    const got = store.get(WEB)!;
    expect(got.spec).toEqual({ port: 80, weights: [1, 2] });
    expect(Object.keys(got.spec as object)).toEqual(['port', 'weights']);
    expect(() => {
      (got.spec as { weights: number[] }).weights.push(3);
    }).toThrow(TypeError);
  });

  it('refuses to write what its validate (or open) would refuse: a TypeError or a StoreError, and no file', async () => {
    const store = await DesiredStore.open(await tempDir(), ports);
    const e = await rejection(store.put(web(1, { port: 70000 })));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).path).toBe(join(store.dir, 'web.json'));
    expect((e as StoreError).reason).toBe('is not a valid desired state: spec.port 70000 is not 0 to 65535');
    for (const bad of [
      { name: 'web', generation: 1, spec: {} },
      { name: 'desiredStates/Web', generation: 1, spec: {} },
      { name: WEB, generation: 0, spec: {} },
      { name: WEB, generation: 1.5, spec: {} },
      { name: WEB, generation: 1, spec: undefined },
      { name: WEB, generation: 1, spec: { n: 1n } },
    ]) {
      expect(await rejection(store.put(bad))).toBeInstanceOf(TypeError);
    }
    expect(await readdir(store.dir)).toEqual([]);
  });

  it('rejects a write the disk refuses with the errno, leaves no temporary file and the view as the disk has it', async () => {
    const store = await DesiredStore.open(await tempDir());
    await store.put(web(1));
    // A directory where the state's file is: the last good version cannot be kept (link refuses directories).
    await mkdir(join(store.dir, 'api.json'));
    const e = (await rejection(store.put({ name: 'desiredStates/api', generation: 1, spec: {} }))) as StoreError;
    expect(e).toBeInstanceOf(StoreError);
    expect(e.code).toBe('EPERM');
    expect(e.message).toMatch(/api\.json: could not be written \(keeping the last good version\): EPERM/);
    expect((await readdir(store.dir)).sort()).toEqual(['api.json', 'web.json']);
    expect(store.get('desiredStates/api')).toBeUndefined();
    // The writes after a failed one go on.
    await store.put(web(2));
    expect(store.get(WEB)?.generation).toBe(2);
    await rm(store.dir, { recursive: true });
    const gone = (await rejection(store.put(web(3)))) as StoreError;
    expect(gone.code).toBe('ENOENT');
    expect(gone.message).toMatch(/web\.json: could not be written \(creating a temporary file\): ENOENT/);
    expect(store.get(WEB)?.generation).toBe(2);
  });

  it('rejects with EACCES in a directory it may not write, and its view stays as the disk has it', async () => {
    const dir = await tempDir();
    await DesiredStore.open(dir);
    await chmod(dir, 0o755);
    // Root writes anywhere, so as root (as CI runs) the put is made by a child running as nobody.
    const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const script = `
      import { DesiredStore } from ${JSON.stringify(resolve(import.meta.dirname, '../../src/desired/store.ts'))};
      const store = await DesiredStore.open(${JSON.stringify(dir)});
      const e = await store.put({ name: 'desiredStates/web', generation: 1, spec: {} }).then(() => undefined, (x) => x);
      console.log(JSON.stringify({ code: e?.code, listed: store.list().length }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: resolve(import.meta.dirname, '../..'),
      ...nobody,
    });
    await chmod(dir, 0o700);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 'EACCES', listed: 0 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the temporary files a crash left without reading them, and leaves other names alone', async () => {
    const dir = await tempDir();
    await (await DesiredStore.open(dir)).put(web(1));
    for (const n of ['.web.json.new.123-4-abcd0123.tmp', '.web.json.prev.123-5-abcd0123.tmp', 'README', 'Web.json']) {
      await writeFile(join(dir, n), '{"torn');
    }
    await writeFile(join(dir, 'ghost.prev.json'), '{"torn');
    await writeFile(join(dir, 'web.json.bad'), '{"torn');
    await mkdir(join(dir, 'notes'));
    const store = await DesiredStore.open(dir);
    expect(store.list()).toEqual([web(1)]);
    expect(store.ignored).toEqual(['README', 'Web.json', 'notes', 'web.json.bad']);
    expect((await readdir(dir)).sort()).toEqual([
      'README',
      'Web.json',
      'ghost.prev.json',
      'notes',
      'web.json',
      'web.json.bad',
    ]);
  });
});

describe('a file that does not load stops the open, naming the file and the reason, and one mv recovers', () => {
  const cases: [string, (file: string) => Promise<void>, RegExp, ((s: StoredDesiredState) => void)?][] = [
    ['truncated JSON', async (f) => writeFile(f, (await readFile(f)).subarray(0, 60)), /^is not JSON \(truncated\?\)/],
    [
      'a version this ipvsd does not read',
      async (f) => writeFile(f, JSON.stringify({ ...JSON.parse(await readFile(f, 'utf8')), version: 2 })),
      /^has version 2; this ipvsd reads version 1 \(written by a newer ipvsd\?\)$/,
    ],
    [
      'a hand edit',
      async (f) => writeFile(f, (await readFile(f, 'utf8')).replace('"port": 82', '"port": 83')),
      /^does not match its sha256/,
    ],
    [
      'a spec the server refuses',
      async (f) => writeFile(f, encodeState(web(2, { port: 99999 }))),
      /^is not a valid desired state: spec.port 99999 is not 0 to 65535$/,
      ports,
    ],
    [
      "another state's file",
      async (f) => writeFile(f, encodeState({ name: 'desiredStates/api', generation: 2, spec: {} })),
      /^holds desiredStates\/api, but its file name says desiredStates\/web/,
    ],
  ];

  it.each(cases)('%s', async (_, corrupt, reason, validate) => {
    const dir = await tempDir();
    const store = await DesiredStore.open(dir, validate);
    await store.put(web(1));
    await store.put(web(2));
    const file = join(dir, 'web.json');
    await corrupt(file);
    const e = await openFails(dir, validate);
    expect(e.path).toBe(file);
    expect(e.reason).toMatch(reason);
    expect(e.message).toContain(`${file}: ${e.reason}. Its last good version (generation 1) is kept beside it`);
    expect(e.message).toContain(`restore it with: mv ${join(dir, 'web.prev.json')} ${file}`);
    runRecovery(e);
    expect((await DesiredStore.open(dir, validate)).list()).toEqual([web(1)]);
  });

  it('with no version kept, the message says how to move the file aside (and start without it)', async () => {
    const dir = await tempDir();
    await (await DesiredStore.open(dir)).put(web(1));
    await writeFile(join(dir, 'web.json'), '');
    const e = await openFails(dir);
    expect(e.message).toMatch(/web\.json: is not JSON .*No earlier version of it is kept; fix it, or move it aside/);
    runRecovery(e);
    const store = await DesiredStore.open(dir);
    expect(store.list()).toEqual([]);
    expect(store.ignored).toEqual(['web.json.bad']);
  });

  it('names the kept version too when it does not load either', async () => {
    const dir = await tempDir();
    const store = await DesiredStore.open(dir);
    await store.put(web(1));
    await store.put(web(2));
    await writeFile(join(dir, 'web.json'), '{');
    await writeFile(join(dir, 'web.prev.json'), '{');
    const e = await openFails(dir);
    expect(e.message).toContain(`The version kept beside it, ${join(dir, 'web.prev.json')}, is not JSON`);
    expect(e.message).toMatch(/too; fix one of them, or move it aside to start without desiredStates\/web: mv /);
  });
});

describe('crash safety', () => {
  it('loses no acknowledged put and tears no file when a writer is SIGKILLed 20 times in 200 puts', async () => {
    const dir = await tempDir();
    const acked = new Map<string, number>();
    let acks = 0;
    for (let run = 0; run < 20; run++) {
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, '10'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Killed after 1 to 10 acknowledged puts, 0 to 5 ms later: with puts in flight, somewhere inside a write.
      const killAfter = 1 + Math.floor(Math.random() * 10);
      const exit = await new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((done) => {
        let out = '';
        let stderr = '';
        let seen = 0;
        const kill = () => setTimeout(() => child.kill('SIGKILL'), Math.random() * 5);
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
            const m = /^acked (\S+) (\d+)$/.exec(out.slice(0, nl));
            out = out.slice(nl + 1);
            if (!m) continue;
            acked.set(m[1]!, Math.max(acked.get(m[1]!) ?? 0, Number(m[2])));
            acks++;
            if (++seen === killAfter) kill();
          }
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (_, signal) => done({ signal, stderr }));
      });
      expect(exit.signal, exit.stderr).toBe('SIGKILL');
      const store = await DesiredStore.open(dir);
      for (const [name, generation] of acked) {
        const s = store.get(name);
        expect(s?.generation, `${name} after kill ${run + 1}`).toBeGreaterThanOrEqual(generation);
        expect(s?.spec).toEqual(specOf(name, s!.generation));
      }
      const files = await readdir(dir);
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      for (const f of files.filter((f) => f.endsWith('.prev.json'))) {
        const prev = decodeState(await readFile(join(dir, f)), f);
        expect(prev.spec).toEqual(specOf(prev.name, prev.generation));
        expect(prev.generation).toBeLessThanOrEqual(store.get(prev.name)!.generation);
      }
    }
    expect(acks).toBeGreaterThanOrEqual(20);
    expect([...acked.keys()].sort()).toEqual(NAMES);
  }, 120_000);
});
