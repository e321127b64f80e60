// Runs a command as root inside a user-mode Linux 6.1 kernel (Debian's
// user-mode-linux) that boots with this machine's / as its root and has
// IPVS loaded: the kernel our tests, benchmarks and sandbox server use on
// machines whose own kernel lacks IPVS. The guest's /tmp is its own, so
// files are exchanged through a directory under /var/tmp.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface UmlOptions {
  /** Shell command run by /bin/sh inside the guest. */
  command: string;
  /** Working directory inside the guest (the same path as on the host). */
  cwd: string;
  env?: Record<string, string>;
  /** Guest memory. Default 1G. */
  memory?: string;
  /** Kill the guest after this long; 0 for never. Default 10 minutes. */
  timeoutMs?: number;
  /** Kills the guest when aborted. */
  signal?: AbortSignal;
  /** Collect the output into the result. Default true; a long-running guest that only echoes turns it off. */
  keepOutput?: boolean;
  /** Where the guest's output is echoed as it arrives. */
  echo?: (chunk: string) => void;
  /**
   * Load ip_vs at boot. Default true. With false, the guest has no kernel modules at all, so IPVS cannot even autoload.
   */
  ipvs?: boolean;
  /** Extra kernel command-line arguments (e.g. eth0=vde,DIR). */
  kernelArgs?: string[];
}

export interface UmlResult {
  /** The command's exit status; -1 if the guest died before reporting one. */
  code: number;
  output: string;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The guest's /tmp and /run are its own: a working directory under them is mounted from the host again. */
function hostDir(cwd: string): string {
  if (!/^\/(tmp|run)\//.test(cwd)) return '';
  return `mkdir -p ${quote(cwd)} && mount -t hostfs -o ${quote(cwd)} none ${quote(cwd)}`;
}

export function initScript(dir: string, o: UmlOptions): string {
  const env = Object.entries(o.env ?? {})
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join('\n');
  return `#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
# Pseudo-terminals, for tests that drive a terminal program (tmux).
mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts
${hostDir(o.cwd)}
${o.ipvs === false ? '' : 'mount -t hostfs -o /usr/lib/uml/modules none /lib/modules && modprobe ip_vs'}
ip link set lo up
${env}
cd ${quote(o.cwd)}
( ${o.command} ) > ${dir}/log 2>&1 < /dev/null
echo $? > ${dir}/rc
sync
halt -f
`;
}

export async function runInUml(o: UmlOptions): Promise<UmlResult> {
  const dir = mkdtempSync('/var/tmp/ipvsd-uml-');
  try {
    writeFileSync(join(dir, 'init.sh'), initScript(dir, o), { mode: 0o755 });
    writeFileSync(join(dir, 'log'), '');
    const child = spawn(
      'linux',
      [
        `mem=${o.memory ?? '1G'}`,
        'rootfstype=hostfs',
        'rootflags=/',
        'rw',
        `init=${dir}/init.sh`,
        'quiet',
        'con=null',
        'con0=null,null',
        ...(o.kernelArgs ?? []),
      ],
      { stdio: 'ignore', detached: true },
    );
    const fd = openSync(join(dir, 'log'), 'r');
    let pos = 0;
    let output = '';
    const chunk = Buffer.alloc(64 * 1024);
    const drain = () => {
      for (let n: number; (n = readSync(fd, chunk, 0, chunk.length, pos)) > 0; pos += n) {
        const s = chunk.toString('utf8', 0, n);
        if (o.keepOutput !== false) output += s;
        o.echo?.(s);
      }
    };
    const tail = setInterval(drain, 200);
    const timeoutMs = o.timeoutMs ?? 600_000;
    let timedOut = false;
    // UML runs as several host processes: kill the whole group.
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const killer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutMs)
      : undefined;
    o.signal?.addEventListener('abort', kill, { once: true });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', () => resolve());
    });
    o.signal?.removeEventListener('abort', kill);
    clearInterval(tail);
    clearTimeout(killer);
    drain();
    closeSync(fd);
    const rcFile = join(dir, 'rc');
    if (timedOut) output += `\nipvsd: the user-mode Linux guest ran past ${timeoutMs} ms and was killed\n`;
    const code = existsSync(rcFile) ? Number(readFileSync(rcFile, 'utf8').trim()) : -1;
    return { code, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
