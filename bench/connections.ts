// `npm run bench:connections [-- 20000]`: the connection table at N entries (default 20,000) in a fresh user-mode
// Linux (bench/connections-guest.ts): ipvsadm -Lnc, and ListConnections through the server as its own process,
// following every page at the default --max-response-bytes (1 MiB; a fresh server's first listing, then a later
// one), at page_size 1000, and filtered; the server's RSS before the listings, after them, and its peak.
import { boot, guest } from './boot.js';

const n = Number(process.argv[2] ?? 20_000);
const r = await boot(`${guest('bench/connections-guest.ts')} ${n}`);
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const mib = (x: number) => `${x.toFixed(1)} MiB`;
console.log(`== the connection table, ${r.entries} entries (UDP, one per client port) ==`);
console.log(`  ipvsadm -Lnc                           ${s(r.ipvsadmMs!)}`);
console.log(
  `  ListConnections, every page (1 MiB)    ${s(r.listMs!)} in ${r.pages} pages (the server's first: ${s(r.firstListMs!)})`,
);
console.log(`  ListConnections, page_size 1000        ${s(r.list1000Ms!)} in ${r.pages1000} pages`);
console.log(`  listAllConnections, filtered (UDP :53) ${s(r.filteredMs!)}`);
console.log(
  `  server RSS: ${mib(r.rssBeforeMiB!)} before, ${mib(r.rssAfterMiB!)} after, peak ${mib(r.rssPeakMiB!)} (+${mib(r.rssPeakMiB! - r.rssBeforeMiB!)})`,
);
