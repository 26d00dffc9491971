import { parseRetryAfter } from './upstream.client';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(' 42 ', now)).toBe(42);
  });

  it('reads an HTTP date as the seconds until then, rounded up', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:09 GMT', now)).toBe(9);
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:00 GMT', now - 2500)).toBe(3);
  });

  it('waits at least 1 second (absent, zero, past date, unreadable)', () => {
    expect(parseRetryAfter(undefined, now)).toBe(1);
    expect(parseRetryAfter('0', now)).toBe(1);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(1);
    expect(parseRetryAfter('soon', now)).toBe(1);
    expect(parseRetryAfter('-5', now)).toBe(1);
    expect(parseRetryAfter('1.5', now)).toBe(1);
  });

  it('does not believe a pause longer than one hour', () => {
    expect(parseRetryAfter('999999999', now)).toBe(3600);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:00 GMT', now)).toBe(3600);
  });
});
