import { LetterSigner } from '../src/format/letter-signature.ts';

const keyA = Buffer.from('a'.repeat(32));
const keyB = Buffer.from('b'.repeat(32));
const value = JSON.stringify({ tenantId: 't', kind: 'events', userId: 'u', itemId: 'AAMk' });

describe('dead-letter signatures', () => {
  it('accepts what the current or the previous key signed, and nothing else', () => {
    const header = new LetterSigner({ current: keyA, previous: undefined }).sign(value);
    expect(header).toMatch(/^hmac-sha256=[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(value);
    expect(new LetterSigner({ current: keyA, previous: undefined }).check(bytes, header)).toBe('valid');
    // A rotation: letters signed with the old key stay replayable while it is kept as the previous key.
    expect(new LetterSigner({ current: keyB, previous: keyA }).check(bytes, header)).toBe('valid');
    expect(new LetterSigner({ current: keyB, previous: undefined }).check(bytes, header)).toBe('invalid');
  });

  it('refuses a changed value, a malformed or truncated signature, and tells an unsigned letter apart', () => {
    const signer = new LetterSigner({ current: keyA, previous: undefined });
    const header = signer.sign(value);
    expect(signer.check(Buffer.from(value.replace('"u"', '"v"')), header)).toBe('invalid');
    expect(signer.check(Buffer.from(value), header.slice(0, -2))).toBe('invalid');
    expect(signer.check(Buffer.from(value), header.replace('hmac-sha256=', 'sha256='))).toBe('invalid');
    expect(signer.check(null, header)).toBe('invalid');
    expect(signer.check(Buffer.from(value), undefined)).toBe('unsigned');
  });
});
