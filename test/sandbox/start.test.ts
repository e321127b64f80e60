// `npm start` on this machine, whose kernel has no IPVS: the server comes
// up inside user-mode Linux, and its listeners here (TCP and unix) reach it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { connectIpvs, Protocol } from '../../src/client/index.js';
import { freePort } from '../../src/sandbox/slirp.js';

describe('the sandbox', () => {
  it('serves the API from a user-mode Linux kernel on the configured TCP port and unix socket, and stops on SIGTERM', async () => {
    const port = await freePort();
    const sock = `/run/ipvsd-sandbox-${process.pid}.sock`;
    // As `npm start` runs it (package.json sets IPVSD_SANDBOX=auto): this kernel has no IPVS, so the sandbox.
    const p = spawn(process.execPath, ['dist/src/server/main.js', '--listen', `127.0.0.1:${port}`, '--unix', sock], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, IPVSD_SANDBOX: 'auto' },
    });
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
    });
    for (let i = 0; i < 1200 && !out.includes('"msg":"sandbox ready"') && p.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('SANDBOX:');
    expect(out).toContain('"msg":"sandbox ready"');

    const tcp = connectIpvs(`127.0.0.1:${port}`);
    const unix = connectIpvs(`unix:${sock}`);
    expect((await tcp.getInfo({})).info?.version).toBe('1.2.1');
    const web = { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 };
    await tcp.createService({ service: { id: web } });
    expect((await unix.listServices({})).services.map((s) => s.service?.id?.address)).toEqual(['192.0.2.1']);
    tcp.close();
    unix.close();

    p.kill('SIGTERM');
    const [code] = await once(p, 'exit');
    expect(code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });
});
