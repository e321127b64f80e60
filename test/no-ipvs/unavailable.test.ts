// Runs in a user-mode Linux guest that has no kernel modules at all, so
// IPVS is neither loaded nor loadable.
import { describe, expect, it } from 'vitest';
import { Handle, KernelError } from '../../src/ipvs/index.js';

describe('a kernel without IPVS', () => {
  it('fails at new Handle with a clear "IPVS is not available"', () => {
    let error: unknown;
    try {
      new Handle();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KernelError);
    expect(error).toMatchObject({ op: 'new Handle', errno: 'ENOPROTOOPT' });
    expect(String(error)).toMatch(/IPVS is not available: the kernel has no ip_vs module loaded/);
  });
});
