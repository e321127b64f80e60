// `node dist/src/server/healthcheck.js [ADDRESS]`: exits 0 when ipvsd at
// ADDRESS (default $IPVSD_ADDR or 127.0.0.1:50051) reports SERVING on the
// standard gRPC health service, 1 otherwise. The container's HEALTHCHECK.
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const address = process.argv[2] ?? process.env.IPVSD_ADDR ?? '127.0.0.1:50051';
const Health = makeGenericClientConstructor(healthService, 'Health');
// biome-ignore lint/complexity/noBannedTypes: a generic grpc-js client: its methods are untyped
const client = new Health(address, credentials.createInsecure()) as Client & Record<string, Function>;
client.check!({ service: '' }, { deadline: Date.now() + 5000 }, (err: Error | null, res?: { status: string }) => {
  const ok = !err && res?.status === 'SERVING';
  process.stdout.write(`${address}: ${err ? err.message : res?.status}\n`);
  client.close();
  process.exit(ok ? 0 : 1);
});
