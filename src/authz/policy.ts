// The authorization policy of gRFC A43, parsed and validated: a policy
// written for grpc-go (authz.NewStatic/NewFileWatcher) is read here with the
// same meaning, or refused whole with a PolicyError naming the place. Like
// grpc-go, unknown fields are refused (a field this server does not know
// might have been meant to deny), and a JSON null counts as absent. Stricter
// than grpc-go: rule names must be unique within each list (grpc-go keeps
// the last of two, dropping the other silently), and a field's name must be
// spelled in lower case (Go's decoder also takes "Name").
import { PolicyError } from './error.js';
import { unsupportedHeader } from './headers.js';
import { pattern, type Pattern } from './pattern.js';

export interface HeaderRule {
  /** Lower case. */
  key: string;
  /** Any one matching is enough. */
  values: Pattern[];
}

export interface Rule {
  name: string;
  /** Any one matching is enough; empty: any peer, authenticated or not. */
  principals: Pattern[];
  /** Any one matching is enough; empty: any path. */
  paths: Pattern[];
  /** Every one must match. */
  headers: HeaderRule[];
}

export interface Policy {
  name: string;
  denyRules: Rule[];
  allowRules: Rule[];
  /**
   * gRFC A59's audit_logging_options asked for allowed calls to be audited
   * (ON_ALLOW or ON_DENY_AND_ALLOW, with the stdout_logger): ipvsd then audits
   * every allowed call, reads too. Writes and denials are audited always.
   */
  auditAllowed: boolean;
}

type Json = unknown;

const AUDIT_CONDITIONS = ['NONE', 'ON_DENY', 'ON_ALLOW', 'ON_DENY_AND_ALLOW'] as const;
/** The one audit logger ipvsd has (grpc-go's built-in name): ipvsd's own audit lines. */
const STDOUT_LOGGER = 'stdout_logger';

const typeName = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/** The object at `path`, checked for unknown fields. */
function object(v: Json, path: string, known: readonly string[]): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PolicyError(path, `must be an object, not ${typeName(v)}`);
  for (const k of Object.keys(v)) {
    if (!known.includes(k))
      throw new PolicyError(path, `unknown field "${k}" (known: ${known.map((n) => `"${n}"`).join(', ')})`);
  }
  return v as Record<string, Json>;
}

function string(v: Json, path: string): string {
  if (typeof v !== 'string') throw new PolicyError(path, `must be a string, not ${typeName(v)}`);
  return v;
}

/** A required string that is not empty. */
function name(v: Json, path: string): string {
  if (v === undefined || v === null || v === '') throw new PolicyError(path, 'is not present');
  return string(v, path);
}

function array(v: Json, path: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PolicyError(path, `must be an array, not ${typeName(v)}`);
  return v;
}

const patterns = (v: Json, path: string) => array(v, path).map((s, i) => pattern(string(s, `${path}[${i}]`)));

function header(v: Json, path: string): HeaderRule {
  const o = object(v, path, ['key', 'values']);
  const key = name(o.key, `${path}.key`).toLowerCase();
  const why = unsupportedHeader(key);
  if (why) throw new PolicyError(`${path}.key`, why);
  const values = patterns(o.values, `${path}.values`);
  if (!values.length) throw new PolicyError(`${path}.values`, 'is not present');
  return { key, values };
}

function rule(v: Json, path: string): Rule {
  const o = object(v, path, ['name', 'source', 'request']);
  const n = name(o.name, `${path}.name`);
  const source = o.source === undefined || o.source === null ? {} : object(o.source, `${path}.source`, ['principals']);
  const request =
    o.request === undefined || o.request === null ? {} : object(o.request, `${path}.request`, ['paths', 'headers']);
  return {
    name: n,
    principals: patterns(source.principals, `${path}.source.principals`),
    paths: patterns(request.paths, `${path}.request.paths`),
    headers: array(request.headers, `${path}.request.headers`).map((h, i) =>
      header(h, `${path}.request.headers[${i}]`),
    ),
  };
}

function rules(v: Json, path: string): Rule[] {
  const out = array(v, path).map((r, i) => rule(r, `${path}[${i}]`));
  const seen = new Set<string>();
  out.forEach((r, i) => {
    if (seen.has(r.name)) throw new PolicyError(`${path}[${i}].name`, `"${r.name}" names two rules`);
    seen.add(r.name);
  });
  return out;
}

/** gRFC A59: whether allowed calls are to be audited; unknown conditions and required loggers are refused. */
function auditAllowed(v: Json, path: string): boolean {
  if (v === undefined || v === null) return false;
  const o = object(v, path, ['audit_condition', 'audit_loggers']);
  const condition = o.audit_condition === undefined || o.audit_condition === null ? 'NONE' : o.audit_condition;
  if (!AUDIT_CONDITIONS.includes(condition as (typeof AUDIT_CONDITIONS)[number]))
    throw new PolicyError(`${path}.audit_condition`, `must be one of ${AUDIT_CONDITIONS.join(', ')}`);
  let stdout = false;
  array(o.audit_loggers, `${path}.audit_loggers`).forEach((l, i) => {
    const p = `${path}.audit_loggers[${i}]`;
    const logger = object(l, p, ['name', 'config', 'is_optional']);
    const n = name(logger.name, `${p}.name`);
    if (logger.config !== undefined && logger.config !== null) object(logger.config, `${p}.config`, []);
    const optional = logger.is_optional ?? false;
    if (typeof optional !== 'boolean')
      throw new PolicyError(`${p}.is_optional`, `must be a boolean, not ${typeName(optional)}`);
    if (n === STDOUT_LOGGER) stdout = true;
    else if (!optional)
      throw new PolicyError(`${p}.name`, `unknown audit logger "${n}" (ipvsd has "${STDOUT_LOGGER}")`);
  });
  return stdout && (condition === 'ON_ALLOW' || condition === 'ON_DENY_AND_ALLOW');
}

/** The policy in `text` (JSON); throws PolicyError, and nothing else. */
export function parsePolicy(text: string): Policy {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyError('', `not JSON: ${(e as Error).message}`);
  }
  const o = object(doc, '', ['name', 'deny_rules', 'allow_rules', 'audit_logging_options']);
  const policyName = name(o.name, 'name');
  const allowRules = rules(o.allow_rules, 'allow_rules');
  if (!allowRules.length) throw new PolicyError('allow_rules', 'is not present');
  return {
    name: policyName,
    denyRules: rules(o.deny_rules, 'deny_rules'),
    allowRules,
    auditAllowed: auditAllowed(o.audit_logging_options, 'audit_logging_options'),
  };
}
