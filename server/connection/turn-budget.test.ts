import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBudget } from './turn-budget.ts';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const nextTurn = () => new Promise((r) => setImmediate(r));

test('the budget is per turn: spent after its ms of work, fresh in the next turn', async () => {
  const b = new TurnBudget(50);
  assert.equal(b.spent(), false, 'the first call starts the clock');
  assert.equal(b.spent(), false, 'not spent right away');
  busy(51);
  assert.equal(b.spent(), true);
  await nextTurn();
  assert.equal(b.spent(), false, 'a new turn has its whole budget again');
});

test('work put off runs in later turns, one budget each, in the order it asked; the unreached go first', async () => {
  const b = new TurnBudget(5);
  const ran: string[] = [];
  // Each piece of work takes a whole budget and asks again once (a connection with more to do).
  const work = (name: string, again: boolean) => () => {
    b.spent();
    ran.push(name);
    busy(6);
    if (again) b.later(work(`${name}2`, false));
  };
  b.spent();
  busy(6);
  assert.equal(b.spent(), true);
  for (const name of ['a', 'b', 'c']) b.later(work(name, true));
  assert.equal(b.waitingCount, 3);
  while (b.waitingCount > 0) await new Promise((r) => setTimeout(r, 5));
  // One piece per turn: a, then b and c (not reached yet) before a's second part.
  assert.deepEqual(ran, ['a', 'b', 'c', 'a2', 'b2', 'c2']);
});
