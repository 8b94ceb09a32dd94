import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldCipher, FieldDecryptError, keyIdOf } from '../../../src/shared/field-cipher.js';

const A = Buffer.alloc(32, 1).toString('base64');
const B = Buffer.alloc(32, 2).toString('base64');
const C = Buffer.alloc(32, 3).toString('base64');

/** A value as the cipher wrote it before key ids existed: `v1:<nonce>:<ciphertext>:<tag>`. */
function legacySeal(keyBase64: string, plain: string, aad: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1:${nonce.toString('base64')}:${body.toString('base64')}:${cipher.getAuthTag().toString('base64')}`;
}

describe('FieldCipher with a key ring', () => {
  it('writes under DATA_KEY with its key id, and reads what any configured key wrote', () => {
    const old = new FieldCipher(A);
    const rotating = new FieldCipher(B, [A]);
    const sealedOld = old.encrypt('13800000000', 'customers.phone|wm1');
    expect(sealedOld).toMatch(new RegExp(`^v2:${keyIdOf(A)}:`));
    const sealedNew = rotating.encrypt('13800000000', 'customers.phone|wm1');
    expect(rotating.keyOf(sealedNew)).toBe(keyIdOf(B));
    expect(rotating.decrypt(sealedOld, 'customers.phone|wm1')).toBe('13800000000');
    expect(rotating.isCurrent(sealedOld)).toBe(false);
    expect(rotating.isCurrent(sealedNew)).toBe(true);
    // A read-only key is never written with.
    expect(new Set(Array.from({ length: 20 }, () => rotating.keyOf(rotating.encrypt('x', 'a'))))).toEqual(new Set([keyIdOf(B)]));
  });

  it('reads values from before key ids (v1) under whichever configured key sealed them', () => {
    const legacy = legacySeal(A, '张三 13800000000', 'customers.phone|wm2');
    expect(new FieldCipher(A).decrypt(legacy, 'customers.phone|wm2')).toBe('张三 13800000000');
    expect(new FieldCipher(B, [A]).decrypt(legacy, 'customers.phone|wm2')).toBe('张三 13800000000');
    expect(new FieldCipher(B, [A]).keyOf(legacy)).toBe('v1');
    expect(() => new FieldCipher(B, [C]).decrypt(legacy, 'customers.phone|wm2')).toThrow(FieldDecryptError);
  });

  it('names a missing key, and refuses a value moved to another row or tampered with', () => {
    const sealed = new FieldCipher(A).encrypt('secret', 'secrets.value|x');
    expect(() => new FieldCipher(B).decrypt(sealed, 'secrets.value|x')).toThrow(new RegExp(`key ${keyIdOf(A)}, which is not configured`));
    expect(() => new FieldCipher(A).decrypt(sealed, 'secrets.value|y')).toThrow(/tampered with or moved/);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('XXXXXX').toString('base64');
    expect(() => new FieldCipher(A).decrypt(parts.join(':'), 'secrets.value|x')).toThrow(FieldDecryptError);
    expect(() => new FieldCipher(A).decrypt('plain text', 'secrets.value|x')).toThrow(/not a field ciphertext/);
  });

  it('looks a phone up under every key, write key first, so rows not yet re-keyed are found', () => {
    const rotating = new FieldCipher(B, [A, A, B]);
    expect(rotating.keyIds).toEqual([keyIdOf(B), keyIdOf(A)]);
    const [current, previous] = rotating.blindIndexes('13800000000');
    expect(current).toBe(new FieldCipher(B).blindIndex('13800000000'));
    expect(previous).toBe(new FieldCipher(A).blindIndex('13800000000'));
    expect(current).not.toBe(previous);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new FieldCipher(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => new FieldCipher(A, ['short'])).toThrow(/32 bytes/);
  });
});
