#!/usr/bin/env node
// ipvsctl's launcher: the CLI bundled into one file (npm install builds it; so does npm run build). One file, not
// the ~100 modules it is made of, because each start of a command pays for every module it resolves and compiles.
import { existsSync } from 'node:fs';

const main = new URL('../dist/ipvsctl.cjs', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`ipvsctl: ${main.pathname} is missing: run npm run build\n`);
  process.exit(1);
}
await import(main.href);
