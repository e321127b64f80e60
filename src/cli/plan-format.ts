// An Apply's changes as a diff (+ create, ~ update or drain, - delete, !
// refused), one line each: the plan of a dry run, or what was done. Shared
// by `apply` and `desired`, so that both read the same.
import { ChangeAction, type ApplyResponse, type Change } from '../client/index.js';

const SIGN: Record<number, string> = {
  [ChangeAction.CREATE_SERVICE]: '+',
  [ChangeAction.CREATE_DESTINATION]: '+',
  [ChangeAction.UPDATE_SERVICE]: '~',
  [ChangeAction.UPDATE_DESTINATION]: '~',
  [ChangeAction.DRAIN_DESTINATION]: '~',
  [ChangeAction.DELETE_SERVICE]: '-',
  [ChangeAction.DELETE_DESTINATION]: '-',
};

/** "+ createService tcp 192.0.2.1:80"; a refused one "! …: EEXIST". */
export function changeLine(x: Change): string {
  return `${x.code ? '!' : (SIGN[x.action] ?? '?')} ${x.description}${x.code ? `: ${x.errno}` : ''}`;
}

/** The changes, one line each, then `last`. Unary answers (Put, Delete) cut the list at the server's response limit: say so. */
const lines = (r: ApplyResponse, last: string) =>
  `${[...r.changes.map(changeLine), ...(r.omitted ? [`… ${r.omitted} more changes not listed`] : []), last].join('\n')}\n`;

/** A dry run's plan: its changes, then how many; or "nothing to change". */
export function formatPlan(r: ApplyResponse): string {
  const total = r.changes.length + r.omitted;
  if (!total) return 'nothing to change\n';
  return lines(r, `${total} changes planned`);
}

/** What was done: each change, then the totals; or "nothing to change". */
export function formatResult(r: ApplyResponse): string {
  if (!r.applied && !r.failed) return 'nothing to change\n';
  return lines(r, `${r.applied} applied, ${r.failed} failed`);
}
