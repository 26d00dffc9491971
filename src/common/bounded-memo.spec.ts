import { BoundedMemo } from './bounded-memo';

describe('BoundedMemo', () => {
  it('remembers values up to its entry count, then starts afresh', () => {
    const memo = new BoundedMemo<number>(2, 10);
    memo.set('a', 1);
    memo.set('b', 2);
    expect([memo.get('a'), memo.get('b')]).toEqual([1, 2]);
    memo.set('c', 3);
    expect([memo.get('a'), memo.get('b'), memo.get('c')]).toEqual([undefined, undefined, 3]);
  });

  it('does not keep keys longer than its bound', () => {
    const memo = new BoundedMemo<number>(2, 3);
    memo.set('abcd', 1);
    memo.set('abc', 2);
    expect([memo.get('abcd'), memo.get('abc')]).toEqual([undefined, 2]);
  });
});
