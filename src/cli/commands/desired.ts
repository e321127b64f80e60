// `ipvsctl desired put|get|list|delete`: named desired states, which the
// server keeps and reconciles onto the kernel (the DesiredState RPCs). A put
// file is an apply file with a `name`, so a state moves from one-shot apply
// to held without rewriting; its plan and changes print as apply's do.
import { create, toJson } from '@bufbuild/protobuf';
import { ApplyResponseSchema, DesiredStateSchema, type ApplyResponse, type DesiredState } from '../../client/index.js';
import { readApplyFile } from '../apply-file.js';
import { formatList, formatState, sysctlChanges, syncText } from '../desired-format.js';
import { formatPlan, formatResult } from '../plan-format.js';
import { type Cli, jsonText } from './action.js';

const PREFIX = 'desiredStates/';

/** "web" or "desiredStates/web" → "desiredStates/web"; the server checks the id. */
const stateName = (s: string) => (s.startsWith(PREFIX) ? s : `${PREFIX}${s}`);

/** --expected-generation: a whole number (-1: only create), as the RPC's int64. */
function generation(text?: string): bigint {
  if (text === undefined) return 0n;
  if (!/^-?\d+$/.test(text)) throw new Error(`--expected-generation: ${text} is not a whole number`);
  return BigInt(text);
}

const stateJson = (d: DesiredState) => toJson(DesiredStateSchema, d);
const orEmpty = (r?: ApplyResponse) => r ?? create(ApplyResponseSchema);

export function addDesired(cli: Cli): void {
  const desired = cli.program
    .command('desired')
    .description('named desired states that the server keeps and reconciles onto the kernel, each within its scope');

  desired
    .command('put')
    .description('create or replace a desired state from an apply file (with a name), then reconcile it')
    .requiredOption('-f, --file <file>', 'an apply file, YAML or JSON, with a name field; - for standard input')
    .option('--name <id>', "the state's name (web or desiredStates/web), over the file's")
    .option('--expected-generation <n>', 'refuse (ABORTED) unless the stored generation is n; -1: only create')
    .option('--dry-run', 'check it and print the plan as a diff; store and change nothing')
    .action(async (o: { file: string; name?: string; expectedGeneration?: string; dryRun?: boolean }) => {
      const {
        request: req,
        name: named,
        health,
        vips,
        sysctls,
      } = await readApplyFile(o.file, cli.io.stdin, { named: true });
      const id = o.name ?? named;
      if (!id)
        throw new Error(
          `${o.file === '-' ? 'standard input' : o.file}: no name: give the file a name field, or --name`,
        );
      const expectedGeneration = generation(o.expectedGeneration);
      const { c, ns } = cli.client();
      const name = stateName(id);
      const r = await c.putDesiredState({
        desiredState: {
          name,
          namespace: ns,
          services: req.services,
          scope: req.scope,
          prune: req.prune,
          drain: req.drain,
          drainTimeout: req.drainTimeout,
          health,
          vips,
          sysctls,
        },
        expectedGeneration,
        validateOnly: o.dryRun ?? false,
      });
      const d = r.desiredState!;
      const reconcile = orEmpty(r.reconcile);
      if (o.dryRun) {
        cli.out(`${name}: would be generation ${d.generation} (dry run: nothing stored or changed)\n`);
        cli.out(formatPlan(reconcile) + sysctlChanges(r.sysctls));
        return;
      }
      cli.out(
        `${name}: generation ${d.generation}\n${formatResult(reconcile)}${sysctlChanges(r.sysctls)}${syncText(d)}\n`,
      );
      if (reconcile.failed) throw new Error(`${reconcile.failed} changes failed (${name} is stored)`);
    });

  desired
    .command('get')
    .description('one desired state with its status and services')
    .argument('<name>', 'web or desiredStates/web')
    .option('--json', 'protobuf JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { c } = cli.client();
      const d = (await c.getDesiredState({ name: stateName(id) })).desiredState!;
      cli.out(o.json ? jsonText(stateJson(d)) : formatState(d));
    });

  desired
    .command('list')
    .description('every desired state, one line each: generation, scope, and how its last reconcile went')
    .option('--json', 'protobuf JSON (without services)')
    .action(async (o: { json?: boolean }) => {
      const { c } = cli.client();
      const states: DesiredState[] = [];
      for await (const s of c.listAllDesiredStates()) states.push(s);
      cli.out(o.json ? jsonText(states.map(stateJson)) : formatList(states));
    });

  desired
    .command('delete')
    .description('forget a desired state; its rules stay on the kernel unless --remove-rules')
    .argument('<name>', 'web or desiredStates/web')
    .option('--remove-rules', 'also remove every service of its scope (drained instead, when it drains)')
    .option('--expected-generation <n>', 'refuse (ABORTED) unless the stored generation is n')
    .action(async (id: string, o: { removeRules?: boolean; expectedGeneration?: string }) => {
      const expectedGeneration = generation(o.expectedGeneration);
      const { c } = cli.client();
      const name = stateName(id);
      const r = await c.deleteDesiredState({ name, removeRules: o.removeRules ?? false, expectedGeneration });
      if (!o.removeRules) {
        cli.out(`deleted ${name}; its rules are left as they are\n`);
        return;
      }
      const removal = orEmpty(r.removal);
      cli.out(`deleted ${name}\n${formatResult(removal)}`);
      if (removal.failed) throw new Error(`${removal.failed} changes failed (${name} is deleted)`);
    });
}
