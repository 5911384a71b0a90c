import { QueueAdmission, RECOUNT_MS, RECOUNT_NEAR_FULL_MS } from '../src/repair/queue-admission.ts';

const of = (user: string, n: number) => Array.from({ length: n }, () => ({ tenantId: 'T', userId: user }));

describe('repair queue admission: the bound, and a mailbox’s share once half full', () => {
  it('lets any mailbox fill half the queue, then holds each to a tenth; the bound is never passed', () => {
    const a = new QueueAdmission(100);
    expect(a.admit(of('junk', 80)).filter(Boolean)).toHaveLength(50);
    // The other half: every other mailbox up to its share, whatever the first one did.
    expect(a.admit(of('b', 12)).filter(Boolean)).toHaveLength(10);
    expect(a.admit(of('JUNK', 1))).toEqual([false]);
    for (let m = 0; m < 10; m++) a.admit(of(`m${m}`, 10));
    expect(a.size).toBe(100);
    expect(a.admit(of('fresh', 1))).toEqual([false]);
  });

  it('counts from the last listing plus what it admitted since; admissions during a listing stay counted', () => {
    const a = new QueueAdmission(100);
    expect(a.recountEvery()).toBe(RECOUNT_MS);
    a.admit(of('x', 30));
    const done = a.recount();
    a.admit(of('y', 5)); // while the listing is read
    done([...of('x', 10), ...of('z', 50)]); // 20 of x's were repaired meanwhile; z's came from other instances
    expect(a.size).toBe(65);
    expect(a.recountEvery()).toBe(RECOUNT_NEAR_FULL_MS);
    // z holds 50 (over its share of 10): refused; x holds 10: refused; y holds 5: admitted until 10.
    expect(a.admit(of('z', 1))).toEqual([false]);
    expect(a.admit(of('x', 1))).toEqual([false]);
    expect(a.admit(of('y', 6)).filter(Boolean)).toHaveLength(5);
  });
});
