// ipvsctl's process: the arguments, streams and environment of the process
// handed to one run (run.ts), and its exit code made the process's.
import { runCli } from './run.js';

runCli(process.argv.slice(2), process).then(async (code) => {
  // Once what was written has left (stdout to a pipe is asynchronous: exit() would cut it off), exit, as ipvsctl
  // always has: a finished command does not wait on whatever a library may still hold open.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
  process.exit(code);
});
