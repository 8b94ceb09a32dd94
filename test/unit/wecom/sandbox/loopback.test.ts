import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../../../src/wecom/sandbox/sandbox.js';

/** docs/security.md §Sandbox exposure: the controls' guard reads the TCP peer address, nothing else. */
describe(isLoopbackAddress.name, () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:127.9.9.9'])('%s is loopback', (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });
  it.each([undefined, '', '10.0.0.1', '192.168.1.2', '203.0.113.9', '::ffff:192.0.2.1', '::', '0.0.0.0', '128.0.0.1', 'fe80::1', '127.0.0.1.evil', 'localhost'])('%s is not', (a) => {
    expect(isLoopbackAddress(a)).toBe(false);
  });
});
