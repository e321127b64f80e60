// A43's string matching, the same for principals, paths and header values:
// "abc" exact, "abc*" prefix, "*abc" suffix, "*" present (not empty). A star
// anywhere else is an ordinary character, as grpc-go reads it.

export type Pattern =
  | { kind: 'exact'; text: string }
  | { kind: 'prefix'; text: string }
  | { kind: 'suffix'; text: string }
  | { kind: 'present' };

export function pattern(value: string): Pattern {
  if (value === '*') return { kind: 'present' };
  if (value.endsWith('*')) return { kind: 'prefix', text: value.slice(0, -1) };
  if (value.startsWith('*')) return { kind: 'suffix', text: value.slice(1) };
  return { kind: 'exact', text: value };
}

export function matches(p: Pattern, value: string): boolean {
  switch (p.kind) {
    case 'present':
      return value.length > 0;
    case 'prefix':
      return value.startsWith(p.text);
    case 'suffix':
      return value.endsWith(p.text);
    case 'exact':
      return value === p.text;
  }
}
