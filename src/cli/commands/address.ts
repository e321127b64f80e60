// `ipvsctl address list|add|del`: the local addresses (VIPs) of the
// namespace, as `ip addr` spells them: `ipvsctl address add 192.0.2.10 dev
// ipvs0 --create` is `ip link add ipvs0 type dummy; ip link set ipvs0 up;
// ip addr add 192.0.2.10/32 dev ipvs0`.
import { toJson } from '@bufbuild/protobuf';
import { AddressSchema, type Address } from '../../client/index.js';
import { formatAddress, formatAddresses } from '../address-format.js';
import { type Cli, jsonText } from './action.js';

/** "192.0.2.10/32", "2001:db8::10": the address and its prefix length (0: the full length). */
function cidr(text: string): { address: string; prefixLength: number } {
  const [address = '', bits, extra] = text.split('/');
  if (extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)))
    throw new Error(`${JSON.stringify(text)} is not ADDRESS or ADDRESS/PREFIX`);
  return { address, prefixLength: bits === undefined ? 0 : Number(bits) };
}

/** ip's "dev IFNAME". */
function dev(word: string, name: string): string {
  if (word !== 'dev') throw new Error(`expected "dev INTERFACE" after the address, not ${JSON.stringify(word)}`);
  return name;
}

export function addAddress(cli: Cli): void {
  const address = cli.program
    .command('address')
    .alias('addr')
    .description('local addresses (VIPs) of the namespace, through rtnetlink');

  address
    .command('list')
    .alias('show')
    .description('every address, as `ip -o addr` prints it (without lifetimes)')
    .option('--dev <interface>', 'only this interface')
    .option('--json', 'protobuf JSON')
    .action(async (o: { dev?: string; json?: boolean }) => {
      const { c, ns } = cli.client();
      const rows: Address[] = [];
      for await (const a of c.listAllAddresses({ namespace: ns, interface: o.dev ?? '' })) rows.push(a);
      cli.out(o.json ? jsonText(rows.map((a) => toJson(AddressSchema, a))) : formatAddresses(rows));
    });

  address
    .command('add')
    .description('add ADDRESS[/PREFIX] (default /32 or /128) to an interface')
    .argument('<address>', 'ADDRESS or ADDRESS/PREFIX')
    .argument('<dev>', 'the word "dev"')
    .argument('<interface>', 'the interface, e.g. ipvs0')
    .option('--create', 'create the interface as a dummy one (up) when absent')
    .option('--dry-run', 'check it against the namespace; change nothing')
    .action(async (text: string, word: string, name: string, o: { create?: boolean; dryRun?: boolean }) => {
      const { c, ns } = cli.client();
      const r = await c.createAddress({
        namespace: ns,
        interface: dev(word, name),
        ...cidr(text),
        createInterface: !!o.create,
        validateOnly: !!o.dryRun,
      });
      if (o.dryRun && r.address) cli.out(`would add: ${formatAddress(r.address)}\n`);
    });

  address
    .command('del')
    .alias('delete')
    .description('delete ADDRESS[/PREFIX] (no prefix: whichever it has) from an interface')
    .argument('<address>', 'ADDRESS or ADDRESS/PREFIX')
    .argument('<dev>', 'the word "dev"')
    .argument('<interface>', 'the interface, e.g. ipvs0')
    .option('--allow-missing', 'succeed when the interface does not have it')
    .action(async (text: string, word: string, name: string, o: { allowMissing?: boolean }) => {
      const { c, ns } = cli.client();
      await c.deleteAddress({
        namespace: ns,
        interface: dev(word, name),
        ...cidr(text),
        allowMissing: !!o.allowMissing,
      });
    });
}
