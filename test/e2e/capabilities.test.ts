// The server with the privileges deploy/systemd/ipvsd.service gives it:
// CAP_NET_ADMIN alone (bounding, inheritable and ambient sets, no new
// privileges, as setpriv makes them) programs IPVS in its own namespace;
// entering another one needs CAP_SYS_ADMIN too, as ipvsd.service.d/netns.conf adds.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { connectIpvs, Protocol, status } from '../../src/client/index.js';
import { createNetns } from '../kernel/helpers.js';
import { failure } from './helpers.js';
import { testStateDir } from '../state-dir.js';

const own = createNetns('capa');
const other = createNetns('capb');
afterAll(() => {
  own.remove();
  other.remove();
});

/** ipvsd in `own`, with only `caps`, reachable on a unix socket; resolves once it listens. */
async function start(caps: string[]): Promise<{ p: ChildProcess; address: string }> {
  const sock = `/run/ipvsd-caps-${process.pid}-${caps.length}.sock`;
  const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  const p = spawn(
    'ip',
    [
      ...['netns', 'exec', own.name],
      ...['setpriv', `--bounding-set=${set}`, `--inh-caps=${set}`, `--ambient-caps=${set}`, '--no-new-privs'],
      ...[process.execPath, '--import', 'tsx', 'src/server/main.ts', '--sandbox', 'never', '--listen', ''],
      ...['--unix', sock, '--netns', other.name, '--state-dir', testStateDir()],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout!.on('data', (d) => {
    out += d;
  });
  for (let i = 0; i < 300 && !out.includes('ipvsd listening') && p.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(out).toContain('ipvsd listening');
  return { p, address: `unix:${sock}` };
}

const stop = async (p: ChildProcess) => {
  p.kill('SIGTERM');
  if (p.exitCode === null) await once(p, 'exit');
};
const service = { id: { address: '192.0.2.80', protocol: Protocol.TCP, port: 80 }, schedName: 'rr' };

describe('privileges of the systemd unit', () => {
  it('CAP_NET_ADMIN alone programs IPVS; another namespace is PERMISSION_DENIED (EPERM)', async () => {
    const { p, address } = await start(['net_admin']);
    const c = connectIpvs(address);
    try {
      await c.createService({ service });
      expect(own.ipvsadm('-Ln')).toContain('192.0.2.80:80 rr');
      const e = await failure(c.listServices({ namespace: other.name }));
      expect([e.code, e.errno]).toEqual([status.PERMISSION_DENIED, 'EPERM']);
      await c.deleteService({ service: service.id });
    } finally {
      c.close();
      await stop(p);
    }
  });

  it('with CAP_SYS_ADMIN added (the netns drop-in) it serves the other namespace', async () => {
    const { p, address } = await start(['net_admin', 'sys_admin']);
    const c = connectIpvs(address);
    try {
      await c.createService({ namespace: other.name, service });
      expect(other.ipvsadm('-Ln')).toContain('192.0.2.80:80 rr');
      expect(own.ipvsadm('-Ln')).not.toContain('192.0.2.80');
    } finally {
      c.close();
      await stop(p);
    }
  });
});
