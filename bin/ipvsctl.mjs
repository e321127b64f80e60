#!/usr/bin/env node
// ipvsctl's launcher: the CLI compiled into dist/ (npm install builds it; so does npm run build).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`ipvsctl: ${main.pathname} is missing: run npm run build\n`);
  process.exit(1);
}
await import(main.href);
