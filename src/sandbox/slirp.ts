// A network from this machine into a user-mode Linux guest, made of vde2
// parts and nothing that needs privileges: a vde_switch, a slirpvde on it
// that forwards one host TCP port to the guest, and the guest's eth0 on the
// same switch. The guest gets no default route, so nothing it sends leaves
// through slirp; slirp's network is 192.0.2.0/24 (TEST-NET-1).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const GUEST_ADDRESS = '192.0.2.15';
const SLIRP_NETWORK = '192.0.2.0';
const SLIRP_HOST = '192.0.2.2';

export interface SlirpNetwork {
  /** The kernel argument that puts the guest's eth0 on the switch. */
  kernelArg: string;
  /** Shell lines for the guest that configure eth0. */
  guestSetup: string;
  /** The host port slirp forwards to the guest (slirp listens on every host address). */
  hostPort: number;
  close(): void;
}

/** A free TCP port on this machine's loopback (for slirpvde, or a test's listener). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function waitFor(what: string, ok: () => boolean, child: ChildProcess, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > end) throw new Error(`${what} did not start within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSlirpNetwork(guestPort: number): Promise<SlirpNetwork> {
  const dir = mkdtempSync('/var/tmp/ipvsd-vde-');
  const sock = join(dir, 'switch');
  const children: ChildProcess[] = [];
  const close = () => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sw = spawn('vde_switch', ['-s', sock], { stdio: ['pipe', 'ignore', 'inherit'] });
    children.push(sw);
    await waitFor('vde_switch', () => existsSync(join(sock, 'ctl')), sw);
    const hostPort = await freePort();
    const slirp = spawn(
      'slirpvde',
      ['-s', sock, '-n', SLIRP_NETWORK, '-L', `${hostPort}:${GUEST_ADDRESS}:${guestPort}`],
      { stdio: 'ignore' },
    );
    children.push(slirp);
    await new Promise((r) => setTimeout(r, 300));
    if (slirp.exitCode !== null) throw new Error(`slirpvde exited with ${slirp.exitCode}`);
    return {
      kernelArg: `eth0=vde,${sock}`,
      // One datagram to slirp's address, so slirp learns where the guest is.
      guestSetup: `ip addr add ${GUEST_ADDRESS}/24 dev eth0 && ip link set eth0 up && bash -c 'echo > /dev/udp/${SLIRP_HOST}/9' || true`,
      hostPort,
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}
