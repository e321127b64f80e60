// A43's decision: a matching deny rule denies; else a matching allow rule
// allows; else the call is denied. A rule matches when its principals (any
// one), its paths (any one) and every one of its headers (any one value)
// match; what a rule leaves out matches everything.
import { matches } from './pattern.js';
import { principalMatches, type Peer } from './peer.js';
import type { Policy, Rule } from './policy.js';

export interface CallFacts {
  /** "/package.Service/Method". */
  path: string;
  /** Lower-case names (headers.ts: requestHeaders). */
  headers: ReadonlyMap<string, string>;
  peer: Peer;
}

export interface Decision {
  allowed: boolean;
  /** The policy's name. */
  policy: string;
  /** The rule that decided; none when no allow rule matched. */
  rule?: string;
}

export function ruleMatches(r: Rule, call: CallFacts): boolean {
  if (r.principals.length && !r.principals.some((p) => principalMatches(p, call.peer))) return false;
  if (r.paths.length && !r.paths.some((p) => matches(p, call.path))) return false;
  return r.headers.every((h) => {
    const v = call.headers.get(h.key);
    return v !== undefined && h.values.some((p) => matches(p, v));
  });
}

export function decide(policy: Policy, call: CallFacts): Decision {
  const deny = policy.denyRules.find((r) => ruleMatches(r, call));
  if (deny) return { allowed: false, policy: policy.name, rule: deny.name };
  const allow = policy.allowRules.find((r) => ruleMatches(r, call));
  return allow ? { allowed: true, policy: policy.name, rule: allow.name } : { allowed: false, policy: policy.name };
}
