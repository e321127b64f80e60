import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/ipvs/validate.js';
import { KernelError } from '../../src/netlink/error.js';

describe('kernel errors', () => {
  it("told in other words, keep the errno, the kernel's text and the original as their cause", () => {
    const original = KernelError.of('request', 'EEXIST', 'service already exists');
    const told = original.within('newService tcp 192.0.2.1:80', 3);
    expect(told).toBeInstanceOf(KernelError);
    expect(told.message).toBe('newService tcp 192.0.2.1:80: EEXIST: service already exists');
    expect([told.errno, told.code, told.detail, told.index]).toEqual(['EEXIST', 17, 'service already exists', 3]);
    expect(told.cause).toBe(original);
    expect(told.within('batch').cause).toBe(told);
  });

  it('a refused field stays a refused field, its first telling the cause', () => {
    const original = new ValidationError('newService', 'port', '70000 is not an integer in 0..65535', 'service');
    const told = original.within('batch item 1: newService', 1);
    expect(told).toBeInstanceOf(ValidationError);
    expect([told.field, told.subject, told.index, told.errno]).toEqual(['port', 'service', 1, 'EINVAL']);
    expect(told.cause).toBe(original);
  });
});
