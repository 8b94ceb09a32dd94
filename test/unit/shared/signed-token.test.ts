import { describe, expect, it } from 'vitest';
import { SignedTokens } from '../../../src/shared/signed-token.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 2).toString('base64');

describe(SignedTokens.name, () => {
  const sut = new SignedTokens(KEY, 'test v1');

  it('opens what it signed until it expires', () => {
    const token = sut.sign({ sub: 'zhangsan', exp: 2000 });
    expect(sut.open(token, 1000)).toEqual({ sub: 'zhangsan', exp: 2000 });
    expect(sut.open(token, 1999)).not.toBeNull();
    expect(sut.open(token, 2000)).toBeNull();
  });

  it('refuses a changed payload, a changed MAC and other shapes', () => {
    const token = sut.sign({ sub: 'zhangsan', exp: 2000 });
    const [v, , mac] = token.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ sub: 'lisi', exp: 2000 })).toString('base64url');
    expect(sut.open(`${v}.${forgedBody}.${mac}`, 1000)).toBeNull();
    expect(sut.open(`${token.slice(0, -2)}AA`, 1000)).toBeNull();
    expect(sut.open(`${token}.x`, 1000)).toBeNull();
    expect(sut.open(token.replace(/^v1/, 'v2'), 1000)).toBeNull();
    expect(sut.open('', 1000)).toBeNull();
    expect(sut.open(undefined, 1000)).toBeNull();
  });

  it('refuses tokens of another key or another purpose', () => {
    const token = sut.sign({ sub: 'zhangsan', exp: 2000 });
    expect(new SignedTokens(OTHER_KEY, 'test v1').open(token, 1000)).toBeNull();
    expect(new SignedTokens(KEY, 'other purpose').open(token, 1000)).toBeNull();
  });

  it('refuses a validly signed payload without a numeric exp', () => {
    const token = sut.sign({ sub: 'zhangsan', exp: '9999999999999' as unknown as number });
    expect(sut.open(token, 1000)).toBeNull();
  });
});

describe('SignedTokens across a DATA_KEY rotation', () => {
  it('signs with the first key and opens tokens of any listed key, but not of an unlisted one', () => {
    const before = new SignedTokens(KEY, 'test v1').sign({ exp: 5000, who: 'zhangsan' });
    const during = new SignedTokens([OTHER_KEY, KEY], 'test v1');
    expect(during.open(before, 1000)).toMatchObject({ who: 'zhangsan' });
    const signedDuring = during.sign({ exp: 5000, who: 'lisi' });
    expect(new SignedTokens(OTHER_KEY, 'test v1').open(signedDuring, 1000)).toMatchObject({ who: 'lisi' });
    expect(new SignedTokens(KEY, 'test v1').open(signedDuring, 1000)).toBeNull();
  });
});
