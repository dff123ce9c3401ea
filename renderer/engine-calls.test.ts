import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Controller } from './controller.ts';
import { applyPreset, setHold } from './engine-calls.ts';
import { FAILURE_MS } from './store/messages.ts';
import { getUi, setUi } from './store/store.ts';

/** A controller whose engine answers each call with the next of `answers` (an Error: it fails). */
function fakeController(answers: unknown[]): Controller {
  const call = async () => {
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return a;
  };
  return { transport: { call } } as unknown as Controller;
}

test("a failed action's message goes when the same kind of action next succeeds, not another kind", async () => {
  setUi({ message: null, commands: null });
  const c = fakeController([new Error('disks must be a whole number from 1 to 16'), [], {}]);
  await applyPreset(c, 'custom', 25);
  assert.equal(getUi().message?.text, 'disks must be a whole number from 1 to 16');
  await setHold(c, true); // another kind of action: says nothing about the layout
  assert.equal(getUi().message?.text, 'disks must be a whole number from 1 to 16');
  await applyPreset(c, 'raid5');
  assert.equal(getUi().message, null);
});

test("a failed action's message is replaced by the next failure, and goes after a while", async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    setUi({ message: null });
    const c = fakeController([new Error('first'), new Error('second')]);
    await setHold(c, true);
    mock.timers.tick(FAILURE_MS / 2);
    await setHold(c, true);
    assert.equal(getUi().message?.text, 'second');
    mock.timers.tick(FAILURE_MS / 2); // the first one's time is up: the second stays
    assert.equal(getUi().message?.text, 'second');
    mock.timers.tick(FAILURE_MS / 2);
    assert.equal(getUi().message, null);
  } finally {
    mock.timers.reset();
  }
});
