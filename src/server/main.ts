// ipvsd's entry point (`npm start`): configuration, then the server, here
// or, on a kernel without IPVS, inside the user-mode Linux sandbox.
import { pino } from 'pino';
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

let cfg;
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

if (cfg.sandbox === 'always' || (cfg.sandbox === 'auto' && !ipvsAvailable())) {
  await runSandboxed(cfg, log);
} else {
  const server = await startServer(cfg, log);
  const stop = () => void server.shutdown().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
