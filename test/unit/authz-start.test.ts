// The server's start with and without --authz-policy (on this host, without
// IPVS: the server still starts, NOT_SERVING): the warning for a listener
// open beyond loopback with no policy, and the flags.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { testStateDir } from '../state-dir.js';

const dir = mkdtempSync('/var/tmp/ipvsd-authz-start-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const POLICY = join(dir, 'policy.json');
writeFileSync(POLICY, JSON.stringify({ name: 'p', allow_rules: [{ name: 'all' }] }));

async function startLines(args: string[]): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const cfg = parseConfig([...args, '--unix', '', '--state-dir', testStateDir()], {}) as ServerConfig;
  const s = await startServer(cfg, log);
  await s.shutdown();
  return lines;
}
const NO_POLICY = 'no --authz-policy: every client that reaches this listener may make every call';

describe('the start', () => {
  it('warns for each listener beyond loopback that has no policy', async () => {
    const lines = await startLines(['--listen', '0.0.0.0:0', '--listen', '127.0.0.1:0', '--insecure']);
    expect(lines.filter((l) => l.msg === NO_POLICY)).toEqual([
      expect.objectContaining({ level: 40, listen: '0.0.0.0:0' }),
    ]);
  });

  it('does not warn with a policy, and names it', async () => {
    const lines = await startLines(['--listen', '0.0.0.0:0', '--insecure', '--authz-policy', POLICY]);
    expect(lines.some((l) => l.msg === NO_POLICY)).toBe(false);
    expect(lines.find((l) => l.msg === 'ipvsd listening')).toMatchObject({ authzPolicy: { file: POLICY, name: 'p' } });
  });
});

describe('configuration', () => {
  it('takes --authz-policy and --audit-reads, or their environment variables', () => {
    expect(parseConfig([], {})).toMatchObject({ authzPolicy: '', auditReads: false });
    expect(parseConfig(['--authz-policy', 'a.json', '--audit-reads'], {})).toMatchObject({
      authzPolicy: 'a.json',
      auditReads: true,
    });
    expect(parseConfig([], { IPVSD_AUTHZ_POLICY: 'b.json', IPVSD_AUDIT_READS: '1' })).toMatchObject({
      authzPolicy: 'b.json',
      auditReads: true,
    });
  });
});
