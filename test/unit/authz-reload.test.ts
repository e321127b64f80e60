// --authz-policy's file: read at start (a bad one refused whole, naming the
// file and the place), then watched: a good new text is in force at once, a
// bad one is refused with a log line naming the error and the old policy
// stays, and a later good text is taken again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/authz/error.js';
import { PolicyFile } from '../../src/authz/policy-file.js';

const dir = mkdtempSync('/var/tmp/ipvsd-authz-reload-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const policy = (name: string) => JSON.stringify({ name, allow_rules: [{ name: 'all' }] });

/** A logger whose lines are kept. */
function recorder() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

async function until(f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PolicyFile', () => {
  it('refuses a bad file at start: PolicyError naming the file, the place and why', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      '{"name":"p","allow_rules":[{"name":"r","request":{"headers":[{"key":"host","values":["*"]}]}}]}',
    );
    const { log } = recorder();
    const e = (() => {
      try {
        new PolicyFile(file, log);
      } catch (e) {
        return e;
      }
    })() as PolicyError;
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.file).toBe(file);
    expect(e.path).toBe('allow_rules[0].request.headers[0].key');
    expect(e.message).toBe(`${file}: allow_rules[0].request.headers[0].key: ${e.reason}`);
  });

  it('refuses a missing file at start', () => {
    const { log } = recorder();
    expect(() => new PolicyFile(join(dir, 'none.json'), log)).toThrow(/none\.json: cannot read: ENOENT/);
  });

  it('takes a good new text, refuses a bad one keeping the old policy, then takes a good one again', async () => {
    const file = join(dir, 'p.json');
    writeFileSync(file, policy('v1'));
    const { log, lines } = recorder();
    const seen: string[] = [];
    const f = new PolicyFile(file, log, { pollMs: 50, onReload: (p) => seen.push(p.name) });
    try {
      expect(f.policy.name).toBe('v1');

      writeFileSync(file, policy('v2'));
      await until(() => f.policy.name === 'v2');

      writeFileSync(file, '{"name":"v3","allow_rules":[]}');
      await until(() => lines.some((l) => String(l.msg).startsWith('authorization policy reload refused')));
      const refused = lines.find((l) => String(l.msg).startsWith('authorization policy reload refused'))!;
      expect(refused).toMatchObject({ level: 50, file, at: 'allow_rules', policy: 'v2' });
      expect(refused.err).toMatch(/allow_rules: is not present/);
      expect(f.policy.name).toBe('v2');

      // An atomic replace (write elsewhere, rename over), as editors and config managers do.
      writeFileSync(join(dir, 'p.json.tmp'), policy('v4'));
      renameSync(join(dir, 'p.json.tmp'), file);
      await until(() => f.policy.name === 'v4');
      expect(seen).toEqual(['v2', 'v4']);
    } finally {
      f.close();
    }
  });

  it('sees a change by its periodic stat alone, without fs.watch', async () => {
    const file = join(dir, 'polled.json');
    writeFileSync(file, policy('a'));
    const { log } = recorder();
    const f = new PolicyFile(file, log, { pollMs: 30, watch: false });
    try {
      expect(f.reload()).toBe(false);
      writeFileSync(file, policy('b'));
      await until(() => f.policy.name === 'b');
    } finally {
      f.close();
    }
  });

  it('ipvsd refuses to start on a bad policy: exit 1 and one line naming the file, the place and why', () => {
    const file = join(dir, 'start.json');
    writeFileSync(file, '{"name": "p", "allow_rules": []}');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/server/main.ts', '--authz-policy', file, '--unix', '', '--state-dir', dir],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ipvsd: cannot start: --authz-policy ${file}: allow_rules: is not present\n`);
  }, 60_000);
});
