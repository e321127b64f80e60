// ipvsctl run in a process that goes on (runCli, what the e2e tests run and
// the binary is a shell around): help and usage errors give commander's exit
// codes without exiting, IPVSD_ADDR and IPVSD_NETNS come from the run's own
// environment and not the process's, a server's refusal is one line and 1,
// and standard input is the run's. Against a real grpc-js server on
// 127.0.0.1 (./fake-server.ts).
import { Readable, Writable } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BatchResponseSchema, FlushResponseSchema } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { runCli } from '../../src/cli/run.js';
import { serve } from './fake-server.js';

/** One run: its exit code and what it wrote. */
async function run(argv: string[], o: { env?: Record<string, string>; input?: string } = {}) {
  const text = { out: '', err: '' };
  const sink = (k: 'out' | 'err') =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text[k] += chunk.toString();
        done();
      },
    });
  const code = await runCli(argv, {
    stdout: sink('out'),
    stderr: sink('err'),
    stdin: Readable.from([Buffer.from(o.input ?? '')]),
    env: o.env ?? {},
  });
  return { code, ...text };
}

/** A server whose Flush records the namespace asked for, and its address. */
async function flushServer(answer?: { code: number; details: string }) {
  const namespaces: string[] = [];
  const c = await serve({
    flush: (call: ServerUnaryCall<{ namespace: string }, unknown>, done: sendUnaryData<unknown>) => {
      namespaces.push(call.request.namespace);
      if (answer) done(answer);
      else done(null, create(FlushResponseSchema));
    },
  });
  return { namespaces, address: c.grpc.getChannel().getTarget() };
}

describe('runCli', () => {
  it('--help: the help on stdout, 0; no command: the help on stderr, 1; an unknown one: 1', async () => {
    const help = await run(['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toMatch(/^Usage: ipvsctl \[options\] \[command\]\n/);
    expect(help.out).toMatch(/env:\s+IPVSD_ADDR\)/);
    const none = await run([]);
    expect(none).toMatchObject({ code: 1, out: '', err: help.out });
    const unknown = await run(['nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^error: unknown command 'nosuch'\n/);
  });

  it("takes the address and namespace from the run's environment, the command line over it", async () => {
    const s = await flushServer();
    process.env.IPVSD_NETNS = 'not-this-one';
    try {
      expect(await run(['flush'], { env: { IPVSD_ADDR: s.address, IPVSD_NETNS: 'blue' } })).toEqual({
        code: 0,
        out: '',
        err: '',
      });
      expect(
        (await run(['--netns', 'green', 'flush'], { env: { IPVSD_ADDR: s.address, IPVSD_NETNS: 'blue' } })).code,
      ).toBe(0);
      expect((await run(['--addr', s.address, 'flush'])).code).toBe(0);
    } finally {
      delete process.env.IPVSD_NETNS;
    }
    expect(s.namespaces).toEqual(['blue', 'green', '']);
  });

  it("a server's refusal: its reason and status on one line, 1", async () => {
    const s = await flushServer({ code: status.PERMISSION_DENIED, details: 'not you' });
    expect(await run(['--addr', s.address, 'flush'])).toEqual({
      code: 1,
      out: '',
      err: 'ipvsctl: not you (PERMISSION_DENIED)\n',
    });
  });

  it("restore reads the run's standard input: a malformed line refuses it before any call", async () => {
    const r = await run(['--addr', '127.0.0.1:1', 'restore'], {
      input: '-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -w lots\n',
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ipvsctl: line 2: /);
  });

  it('restore sends what standard input holds', async () => {
    const batches: unknown[] = [];
    const c = await serve({
      batch: (call: ServerUnaryCall<{ operations: unknown[] }, unknown>, done: sendUnaryData<unknown>) => {
        batches.push(call.request.operations.length);
        done(null, create(BatchResponseSchema, { results: call.request.operations.map(() => ({})) }));
      },
    });
    const r = await run(['--addr', c.grpc.getChannel().getTarget(), 'restore'], {
      input: '-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1 -m -w 1\n',
    });
    expect(r).toEqual({ code: 0, out: '', err: '' });
    expect(batches).toEqual([2]);
  });
});
