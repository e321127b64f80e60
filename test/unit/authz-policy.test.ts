// The A43 policy parser: what it refuses, where and why (grpc-go's classes of
// invalid policies, and ours), that a valid one reads as written, and, fuzzed,
// that nothing but a PolicyError ever comes out of it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/authz/error.js';
import { parsePolicy } from '../../src/authz/policy.js';

const refusal = (doc: unknown) => {
  try {
    parsePolicy(typeof doc === 'string' ? doc : JSON.stringify(doc));
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return { path: (e as PolicyError).path, reason: (e as PolicyError).reason };
  }
  throw new Error('accepted');
};
const ok = { name: 'r', request: { paths: ['*'] } };
const withRule = (rule: object) => ({ name: 'authz', allow_rules: [rule] });

describe('parsePolicy refuses', () => {
  it.each([
    ['text that is not JSON', '{"name": ', '', /^not JSON/],
    ['a document that is not an object', '[]', '', /must be an object, not an array/],
    ['an unknown field', { random: 123 }, '', /unknown field "random"/],
    ['a missing name', { allow_rules: [ok] }, 'name', /is not present/],
    ['an empty name', { name: '', allow_rules: [ok] }, 'name', /is not present/],
    ['a name of the wrong type', { name: 123, allow_rules: [ok] }, 'name', /must be a string, not a number/],
    ['missing allow_rules', { name: 'authz' }, 'allow_rules', /is not present/],
    ['empty allow_rules', { name: 'authz', allow_rules: [] }, 'allow_rules', /is not present/],
    ['allow_rules that is not a list', { name: 'authz', allow_rules: {} }, 'allow_rules', /must be an array/],
    ['a rule without a name', { name: 'authz', allow_rules: [{}] }, 'allow_rules[0].name', /is not present/],
    [
      'a deny rule without a name',
      { name: 'a', allow_rules: [ok], deny_rules: [{ request: {} }] },
      'deny_rules[0].name',
      /is not present/,
    ],
    ['an unknown field in a rule', withRule({ name: 'r', sources: {} }), 'allow_rules[0]', /unknown field "sources"/],
    [
      'an unknown field in source',
      withRule({ name: 'r', source: { principal: ['x'] } }),
      'allow_rules[0].source',
      /unknown field/,
    ],
    [
      'a principal that is not a string',
      withRule({ name: 'r', source: { principals: [1] } }),
      'allow_rules[0].source.principals[0]',
      /must be a string/,
    ],
    [
      'a header without a key',
      withRule({ name: 'r', request: { headers: [{ key: 'a', values: ['v'] }, {}] } }),
      'allow_rules[0].request.headers[1].key',
      /is not present/,
    ],
    [
      'a header without values',
      withRule({ name: 'r', request: { headers: [{ key: 'a' }] } }),
      'allow_rules[0].request.headers[0].values',
      /is not present/,
    ],
    [
      'a header with an empty list of values',
      withRule({ name: 'r', request: { headers: [{ key: 'a', values: [] }] } }),
      'allow_rules[0].request.headers[0].values',
      /is not present/,
    ],
    [
      'the pseudo-header :method',
      withRule({ name: 'r', request: { headers: [{ key: ':method', values: ['GET'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /unsupported header ":method"/,
    ],
    [
      'the pseudo-header :path',
      withRule({ name: 'r', request: { headers: [{ key: ':path', values: ['*'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /pseudo-headers/,
    ],
    [
      'host',
      withRule({ name: 'r', request: { headers: [{ key: 'Host', values: ['*'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /unsupported header "host"/,
    ],
    [
      'a grpc- header',
      withRule({ name: 'r', request: { headers: [{ key: 'grpc-timeout', values: ['*'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /grpc- headers/,
    ],
    [
      'a hop-by-hop header',
      withRule({ name: 'r', request: { headers: [{ key: 'te', values: ['*'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /hop-by-hop/,
    ],
    [
      'an x-ipvsd- header ipvsd does not set',
      withRule({ name: 'r', request: { headers: [{ key: 'x-ipvsd-user', values: ['*'] }] } }),
      'allow_rules[0].request.headers[0].key',
      /the only ipvsd header is x-ipvsd-namespace/,
    ],
    [
      'two rules of one name in a list',
      { name: 'a', allow_rules: [ok, ok] },
      'allow_rules[1].name',
      /"r" names two rules/,
    ],
    [
      'an unknown audit condition',
      { name: 'a', allow_rules: [ok], audit_logging_options: { audit_condition: 'ABC' } },
      'audit_logging_options.audit_condition',
      /must be one of/,
    ],
    [
      'an audit logger config that is not an object',
      {
        name: 'a',
        allow_rules: [ok],
        audit_logging_options: { audit_loggers: [{ name: 'stdout_logger', config: 'abc' }] },
      },
      'audit_logging_options.audit_loggers[0].config',
      /must be an object/,
    ],
    [
      'an audit logger without a name',
      { name: 'a', allow_rules: [ok], audit_logging_options: { audit_loggers: [{ config: {} }] } },
      'audit_logging_options.audit_loggers[0].name',
      /is not present/,
    ],
    [
      'an unknown audit logger that is not optional',
      { name: 'a', allow_rules: [ok], audit_logging_options: { audit_loggers: [{ name: 'cloud' }] } },
      'audit_logging_options.audit_loggers[0].name',
      /unknown audit logger "cloud"/,
    ],
  ])('%s', (_what, doc, path, reason) => {
    const r = refusal(doc);
    expect(r.path).toBe(path);
    expect(r.reason).toMatch(reason);
  });
});

describe('parsePolicy reads', () => {
  it("A43's own example", () => {
    const p = parsePolicy(
      JSON.stringify({
        name: 'example-policy',
        allow_rules: [
          {
            name: 'admin-access',
            source: { principals: ['spiffe://foo.com/sa/admin1', 'spiffe://foo.com/sa/admin2'] },
            request: { paths: ['/pkg.service/*'] },
          },
          {
            name: 'dev-access',
            source: { principals: ['*', ''] },
            request: {
              paths: ['/pkg.service/foo', '/pkg.service/bar'],
              headers: [{ key: 'dev-path', values: ['/dev/path/*'] }],
            },
          },
        ],
        deny_rules: [{ name: 'deny-access', request: { paths: ['*/secret'] } }],
      }),
    );
    expect(p.name).toBe('example-policy');
    expect(p.allowRules.map((r) => r.name)).toEqual(['admin-access', 'dev-access']);
    expect(p.allowRules[1]!.principals).toEqual([{ kind: 'present' }, { kind: 'exact', text: '' }]);
    expect(p.allowRules[1]!.headers).toEqual([{ key: 'dev-path', values: [{ kind: 'prefix', text: '/dev/path/' }] }]);
    expect(p.denyRules[0]!.paths).toEqual([{ kind: 'suffix', text: '/secret' }]);
    expect(p.auditAllowed).toBe(false);
  });

  it('null as absent, as Go reads it', () => {
    const p = parsePolicy(
      '{"name":"a","allow_rules":[{"name":"r","source":null,"request":{"paths":null}}],"deny_rules":null}',
    );
    expect(p.denyRules).toEqual([]);
    expect(p.allowRules[0]).toEqual({ name: 'r', principals: [], paths: [], headers: [] });
  });

  it.each([
    ['ON_ALLOW', 'stdout_logger', true],
    ['ON_DENY_AND_ALLOW', 'stdout_logger', true],
    ['ON_DENY', 'stdout_logger', false],
    ['ON_ALLOW', undefined, false],
  ])('audit_logging_options %s with %s: allowed calls audited %s', (condition, logger, audited) => {
    const p = parsePolicy(
      JSON.stringify({
        name: 'a',
        allow_rules: [ok],
        audit_logging_options: {
          audit_condition: condition,
          audit_loggers: [
            ...(logger ? [{ name: logger, config: {}, is_optional: false }] : []),
            { name: 'other', is_optional: true },
          ],
        },
      }),
    );
    expect(p.auditAllowed).toBe(audited);
  });
});

/** Only PolicyError, or a policy: never another exception. */
const onlyPolicyErrors = (text: string) => {
  try {
    parsePolicy(text);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
  }
};

const FIELDS = [
  'name',
  'allow_rules',
  'deny_rules',
  'source',
  'request',
  'principals',
  'paths',
  'headers',
  'key',
  'values',
  'audit_logging_options',
  'audit_condition',
  'audit_loggers',
  'config',
  'is_optional',
  '__proto__',
  'constructor',
  'toString',
];
const KEYS = ['x-team', ':method', 'host', 'grpc-timeout', 'x-ipvsd-namespace', 'x-ipvsd-x', 'te', ''];
const pat = fc.oneof(fc.constantFrom('*', '', 'a*', '*a', '/ipvs.v1.IpvsService/*'), fc.string());
const validRule = fc.record(
  {
    name: fc.string({ minLength: 1 }),
    source: fc.record({ principals: fc.array(pat) }, { requiredKeys: [] }),
    request: fc.record(
      { paths: fc.array(pat), headers: fc.array(fc.record({ key: fc.constantFrom(...KEYS), values: fc.array(pat) })) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['name'] },
);
const validish = fc.record(
  {
    name: fc.string(),
    allow_rules: fc.array(validRule, { maxLength: 3 }),
    deny_rules: fc.array(validRule, { maxLength: 3 }),
    audit_logging_options: fc.record(
      {
        audit_condition: fc.constantFrom('NONE', 'ON_DENY', 'ON_ALLOW', 'ON_DENY_AND_ALLOW', 'X'),
        audit_loggers: fc.array(
          fc.record(
            { name: fc.constantFrom('stdout_logger', 'x', ''), config: fc.jsonValue(), is_optional: fc.jsonValue() },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

/** `doc` with one place in it replaced by `value`, deleted, or given a new field, as `choice` picks. */
function mutate(doc: unknown, choices: number[], value: unknown): unknown {
  if (!choices.length || typeof doc !== 'object' || doc === null) return value;
  const [c, ...rest] = choices as [number, ...number[]];
  if (Array.isArray(doc)) {
    if (!doc.length) return [value];
    const i = c % doc.length;
    return doc.map((x, j) => (j === i ? mutate(x, rest, value) : x));
  }
  const keys = Object.keys(doc);
  const o = { ...(doc as Record<string, unknown>) };
  if (!keys.length || c % 7 === 0) o[FIELDS[c % FIELDS.length]!] = value;
  else if (c % 7 === 1) delete o[keys[c % keys.length]!];
  else o[keys[c % keys.length]!] = mutate(o[keys[c % keys.length]!], rest, value);
  return o;
}

describe('parsePolicy fuzzed', () => {
  it('arbitrary text: a policy or a PolicyError', () => {
    fc.assert(
      fc.property(fc.string(), (s) => onlyPolicyErrors(s)),
      { numRuns: 2000 },
    );
  });
  it('arbitrary JSON: a policy or a PolicyError', () => {
    fc.assert(
      fc.property(fc.json(), (s) => onlyPolicyErrors(s)),
      { numRuns: 3000 },
    );
  });
  it('policy-shaped documents, and each mutated at one place: a policy or a PolicyError', () => {
    fc.assert(
      fc.property(validish, fc.array(fc.nat(), { maxLength: 6 }), fc.jsonValue(), (doc, choices, value) => {
        onlyPolicyErrors(JSON.stringify(doc));
        onlyPolicyErrors(JSON.stringify(mutate(doc, choices, value)));
      }),
      { numRuns: 1500 },
    );
  });
  it('a valid policy round-trips every rule name, in order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }), (names) => {
        const p = parsePolicy(JSON.stringify({ name: 'p', allow_rules: names.map((name) => ({ name })) }));
        expect(p.allowRules.map((r) => r.name)).toEqual(names);
      }),
    );
  });
});
