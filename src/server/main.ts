// ipvsd's entry point: configuration, then the server, here; on a kernel
// without IPVS, inside the user-mode Linux sandbox when asked (`npm start`
// asks), else a loud exit.
import { pino } from 'pino';
import { PolicyError } from '../authz/error.js';
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
    // An authorization policy that does not load: the file, where in it, and why; no stack.
    if (e instanceof PolicyError) {
      log.fatal({ file: e.file, at: e.path, reason: e.reason }, `cannot start: --authz-policy ${e.message}`);
      process.stderr.write(`ipvsd: cannot start: --authz-policy ${e.message}\n`);
      process.exit(1);
    }
    // A desired-state file that does not load: one line naming it, why, and the recovery; no stack.
    if (!(e instanceof StoreError)) throw e;
    log.fatal({ path: e.path, reason: e.reason }, `cannot start: ${e.message}`);
    process.stderr.write(`ipvsd: cannot start: ${e.message}\n`);
    process.exit(1);
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
