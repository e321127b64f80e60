// ipvsctl list's ipvsadm options: what ipvsadm -L refuses is refused
// before anything is asked of the server (test/e2e/cli-views.test.ts shows
// ipvsadm refusing the same), and what it takes reaches the right call.
import { describe, expect, it } from 'vitest';
import type { IpvsClient } from '../../src/client/index.js';
import { checkJson, listView, type ViewOptions } from '../../src/cli/commands/views.js';

/** A client that must not be called. */
const untouched = new Proxy({} as IpvsClient, {
  get: (_, name) => () => {
    throw new Error(`called ${String(name)}`);
  },
});

describe('ipvsctl list options', () => {
  it("refuses ipvsadm's refusals, naming what to change", async () => {
    const cases: [ViewOptions, RegExp][] = [
      [{ ipv6: true }, /-6 is for a firewall-mark service/],
      [{ ipv6: true, tcpService: '192.0.2.1:80' }, /-6 is for a firewall-mark service/],
      [{ tcpService: '192.0.2.1:80', fwmarkService: '7' }, /one service at a time/],
      [{ udpService: '192.0.2.1:53', sctpService: '192.0.2.1:9' }, /one service at a time/],
      [{ fwmarkService: '0' }, /-f needs a firewall mark in 1\.\.4294967295, not "0"/],
      [{ fwmarkService: '4294967296' }, /-f needs a firewall mark/],
      [{ fwmarkService: 'web' }, /-f needs a firewall mark/],
      [{ tcpService: '192.0.2.1' }, /-t: "192\.0\.2\.1" needs a port/],
      [{ sctpService: 'example.org:9' }, /--sctp-service: .* is not ADDRESS:PORT/],
      [{ timeout: true, daemon: true }, /--timeout lists alone: not with --daemon/],
      [{ timeout: true, stats: true }, /--timeout lists alone: not with --stats/],
      [{ daemon: true, persistentConn: true }, /--daemon lists alone: not with --persistent-conn/],
      [{ daemon: true, fwmarkService: '7' }, /--daemon lists alone: not with a service/],
    ];
    for (const [o, message] of cases)
      await expect(listView(untouched, '', o), JSON.stringify(o)).rejects.toThrow(message);
  });

  it('--json takes a service but no view', () => {
    expect(() => checkJson({ tcpService: '192.0.2.1:80', exact: true })).not.toThrow();
    expect(() => checkJson({ stats: true, timeout: true })).toThrow(
      '--json prints every field of the services: leave out --timeout, --stats',
    );
  });

  it('--timeout and --daemon ask only for what they print, --exact and --sort being harmless', async () => {
    const asked: string[] = [];
    const c = {
      getConfig: async () => {
        asked.push('getConfig');
        return { config: { timeoutTcp: 900, timeoutTcpFin: 120, timeoutUdp: 300 } };
      },
      listDaemons: async () => {
        asked.push('listDaemons');
        return { daemons: [] };
      },
    } as unknown as IpvsClient;
    expect(await listView(c, '', { timeout: true, exact: true })).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
    expect(await listView(c, '', { daemon: true, sort: true })).toBe('');
    expect(asked).toEqual(['getConfig', 'listDaemons']);
  });
});
