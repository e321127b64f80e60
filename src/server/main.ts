// ipvsd's entry point: configuration, then the server, here; on a kernel
// without IPVS, inside the user-mode Linux sandbox when asked (`npm start`
// asks), else a loud exit.
import { pino } from 'pino';
import { PolicyError } from '../authz/error.js';
import { readPolicyFile } from '../authz/policy-file.js';
import { StoreError } from '../desired/store.js';
import { Handle, KernelError } from '../ipvs/index.js';
import { parseConfig, USAGE } from './config.js';
import { runSandboxed } from './sandboxed.js';
import { startServer } from './server.js';

function ipvsAvailable(): boolean {
  try {
    new Handle().close();
    return true;
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'ENOPROTOOPT') return false;
    throw e;
  }
}

let cfg: ReturnType<typeof parseConfig>;
try {
  cfg = parseConfig(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (cfg === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const log = pino({ level: cfg.logLevel, base: { service: 'ipvsd' } });

/** Why the start stops, in one line on stderr and one in the log; no stack. */
function cannotStart(message: string, fields: object): never {
  log.fatal(fields, `cannot start: ${message}`);
  process.stderr.write(`ipvsd: cannot start: ${message}\n`);
  process.exit(1);
}

/** An authorization policy that does not load: the file, where in it, and why. */
const badPolicy = (e: PolicyError) =>
  cannotStart(`--authz-policy ${e.message}`, { file: e.file, at: e.path, reason: e.reason });

// Checked here, before any sandbox, so that a bad policy stops every kind of start (the server reads it again).
if (cfg.authzPolicy) {
  try {
    readPolicyFile(cfg.authzPolicy);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    badPolicy(e);
  }
}

const haveIpvs = cfg.sandbox === 'always' ? false : ipvsAvailable();
if (!haveIpvs && cfg.sandbox === 'never') {
  process.stderr.write(
    'ipvsd: IPVS is not available in this kernel (modprobe ip_vs, or load it on the host of this container).\n' +
      'For a throwaway user-mode Linux kernel instead, run `npm start` or give --sandbox auto.\n',
  );
  process.exit(1);
}
if (!haveIpvs) {
  await runSandboxed(cfg, log);
} else {
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(cfg, log);
  } catch (e) {
    // The policy changed for the worse since it was checked above.
    if (e instanceof PolicyError) badPolicy(e);
    // A desired-state file that does not load: one line naming it, why, and the recovery.
    if (!(e instanceof StoreError)) throw e;
    cannotStart(e.message, { path: e.path, reason: e.reason });
  }
  const stop = () => void server.shutdown().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // systemctl reload: new TLS files for new connections. (Node's default for SIGHUP is to exit.)
  process.on('SIGHUP', () => {
    server.reloadTls();
    server.reloadPolicy();
  });
}
