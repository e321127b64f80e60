// A fresh state directory for each server a test starts, so that no test
// touches /var/lib/ipvsd (inside user-mode Linux, / is this machine's) and
// no server loads another's desired states.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const testStateDir = (): string => mkdtempSync(join(tmpdir(), 'ipvsd-state-'));
