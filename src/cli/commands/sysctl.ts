// ipvsctl sysctl: the IPVS sysctls of the namespace as `sysctl` shows them (`net.ipv4.vs.NAME = VALUE`, a pair's
// values apart by a tab), one or more by name, or set with NAME=VALUE (all checked by the server before any is
// written; --dry-run checks and shows what would change).
import { toJson } from '@bufbuild/protobuf';
import { SysctlSchema, SysctlUpdateSchema, type SysctlUpdate } from '../../client/index.js';
import { type Cli, jsonText } from './action.js';

const PREFIX = 'net.ipv4.vs.';
const bare = (name: string) => (name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name);
const line = (name: string, value: string) => `${PREFIX}${name} = ${value}\n`;

/** What --dry-run shows of a setting: the change it would make, or that there is none. */
const planned = (u: SysctlUpdate) =>
  u.changed
    ? `${PREFIX}${u.name}: ${u.previousValue} -> ${u.value}\n`
    : `${line(u.name, u.value).trimEnd()} (unchanged)\n`;

export function addSysctl(cli: Cli): void {
  cli.program
    .command('sysctl')
    .description('show the IPVS sysctls (net.ipv4.vs.*), some by name, or set them with NAME=VALUE')
    .argument('[name[=value]...]', 'with or without net.ipv4.vs.; a pair as "3 50"')
    .option('--dry-run', 'check the settings and show what would change; write nothing')
    .option('--json', 'protobuf JSON')
    .action(async (args: string[], o: { dryRun?: boolean; json?: boolean }) => {
      const { c, ns } = cli.client();
      const settings = args.flatMap((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [] : [{ name: bare(a.slice(0, i).trim()), value: a.slice(i + 1).trim() }];
      });
      const names = args.filter((a) => !a.includes('=')).map(bare);
      const updates = settings.length
        ? (await c.updateSysctls({ namespace: ns, settings, validateOnly: o.dryRun })).updates
        : [];
      const read = names.length || !settings.length ? (await c.listSysctls({ namespace: ns, names })).sysctls : [];
      if (o.json) {
        const out = [...updates.map((u) => toJson(SysctlUpdateSchema, u)), ...read.map((s) => toJson(SysctlSchema, s))];
        cli.out(jsonText(out));
        return;
      }
      // In the order asked, as sysctl prints them.
      const set = new Map(updates.map((u) => [u.name, u]));
      const got = new Map(read.map((r) => [r.name, r]));
      const order = args.length ? args.map((a) => bare(a.split('=')[0]!.trim())) : read.map((r) => r.name);
      for (const name of order) {
        const u = set.get(name);
        const r = got.get(name);
        if (u) cli.out(o.dryRun ? planned(u) : line(u.name, u.value));
        else if (r) cli.out(line(r.name, r.value));
      }
    });
}
