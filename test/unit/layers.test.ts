// The folders of src/ are layers, and imports go downward only: a newcomer
// can trust the folder list as the architecture.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** What each room may import from the others (gen/ is generated code, open to the rooms that speak gRPC). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  inet: [],
  netlink: [],
  genetlink: ['netlink'],
  // Route netlink, beside generic netlink; and the local addresses of a namespace over it (VIPs), no IPVS in either.
  rtnetlink: ['inet', 'netlink'],
  addresses: ['inet', 'netlink', 'rtnetlink'],
  // Files of /proc bound to a network namespace at open (sysctls, connection tables): what they mean is not theirs.
  procfs: ['netlink'],
  ipvs: ['inet', 'netlink', 'genetlink', 'procfs'],
  rpc: ['gen'],
  // gRFC A43 authorization policies: parsing, matching, the policy file; no gRPC transport, no IPVS.
  authz: [],
  sandbox: [],
  // Health checking: checks, their monitor, and the prober processes (netlink to enter a namespace; gRPC and gen for
  // the grpc.health.v1 probe of real servers, not for ipvsd's API).
  health: ['inet', 'ipvs', 'netlink', 'rpc', 'gen'],
  // The desired-state core: the store and the reconciling of held states, over the IPVS library; no gRPC in it.
  desired: ['inet', 'ipvs', 'health', 'addresses'],
  server: ['inet', 'ipvs', 'netlink', 'rpc', 'sandbox', 'desired', 'health', 'addresses', 'authz', 'gen'],
  client: ['rpc', 'gen'],
  cli: ['inet', 'client', 'rpc', 'gen'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The rooms a file imports from, by relative specifier. */
function importedRooms(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => {
    const target = relative(SRC, resolve(file, '..', s));
    return target.startsWith('..') ? 'gen' : target.split('/')[0]!;
  });
}

describe('layers', () => {
  it('every room of src/ is known', () => {
    const rooms = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(rooms).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it.each(Object.keys(MAY_IMPORT))('%s imports only from the rooms below it', (room) => {
    const wrong = sources(join(SRC, room)).flatMap((f) =>
      importedRooms(f)
        .filter((r) => r !== room && !MAY_IMPORT[room]!.includes(r))
        .map((r) => `${relative(SRC, f)} imports from ${r}`),
    );
    expect(wrong).toEqual([]);
  });

  it.each(['desired', 'authz'])('%s speaks no gRPC: it imports no @grpc/ package (the server translates)', (room) => {
    const wrong = sources(join(SRC, room)).filter((f) =>
      /^(?:import|export)\b[^'"]*?from\s+'@grpc\//m.test(readFileSync(f, 'utf8')),
    );
    expect(wrong.map((f) => relative(SRC, f))).toEqual([]);
  });
});
