import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readWebmFields } from './webm-form.ts';

const session = { startSec: 0, endSec: 180 };
const read = (from: string, to: string, speed = '1') => readWebmFields({ from, to, speed }, session);

test('empty fields are the whole session at 1×', () => {
  assert.deepEqual(read('', '', ''), { ok: true, fromSec: 0, toSec: 180, speed: 1, note: null });
  assert.deepEqual(read(' 5 ', '7.5', '4'), { ok: true, fromSec: 5, toSec: 7.5, speed: 4, note: null });
});

test("a 'to' past the end stops at the end and says so", () => {
  const r = read('', '1e7');
  assert.ok(r.ok);
  assert.equal(r.toSec, 180);
  assert.match(r.note!, /'to' is past the end of the session: the video stops at 3:00.0/);
  const late = readWebmFields({ from: '0', to: '50', speed: '1' }, { startSec: 20, endSec: 60 });
  assert.ok(late.ok);
  assert.equal(late.fromSec, 20);
  assert.match(late.note!, /starts at 0:20.0/);
});

test('messages name the form fields, never command-line flags', () => {
  const error = (r: ReturnType<typeof read>) => (r.ok ? 'ok' : r.error);
  assert.equal(error(read('abc', '')), "'from' is not a number");
  assert.equal(error(read('', 'x')), "'to' is not a number");
  assert.equal(error(read('5', '2')), "'to' must be after 'from'");
  assert.equal(error(read('5', '5')), "'to' must be after 'from'");
  assert.equal(error(read('200', '300')), "'from' is past the end of the session (3:00.0)");
  assert.equal(error(read('', '', 'abc')), "'speed' is not a number");
  assert.equal(error(read('', '', '0')), "'speed' must be from 0.1 to 100");
  assert.equal(error(read('', '', '1000')), "'speed' must be from 0.1 to 100");
  assert.equal(error(read('Infinity', '')), "'from' is not a number");
});
