import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPS, type Op, type OpCounter, type TimelineStatus } from '../../server/shared/types.ts';
import { settingsQuery } from '../../server/shared/ui-settings.ts';
import { RateWindow, computeRates, timelineJumped } from './rates.ts';
import { SETTINGS_KEY, loadSettings, saveSettings, type KeyValueStore } from './settings.ts';

const counters = (write = 0, bytes = 0) => {
  const c = Object.fromEntries(OPS.map((op) => [op, { count: 0, bytes: 0, errors: 0, cancelled: 0 }])) as Record<
    Op,
    OpCounter
  >;
  c.write = { count: write, bytes, errors: 0, cancelled: 0 };
  return c;
};

test('rates: two snapshots', () => {
  const r = computeRates(counters(), counters(100, 409600), 500);
  assert.equal(r.ops.write, 200);
  assert.equal(r.bytesPerSec.write, 819200);
});

test('rates: a burst is averaged over the window and fades out, instead of dropping to 0 at once', () => {
  const w = new RateWindow(5000);
  w.add(0, counters());
  w.add(500, counters(1000, 4096000)); // a burst: 1000 writes in half a second
  assert.equal(w.rates().ops.write, 2000);
  for (let t = 1000; t <= 3000; t += 500) w.add(t, counters(1000, 4096000));
  assert.equal(w.rates().ops.write, 1000 / 3, 'idle time counts: 1000 writes over 3 s');
  for (let t = 3500; t <= 5000; t += 500) w.add(t, counters(1000, 4096000));
  assert.equal(w.rates().ops.write, 200, 'still in the window 5 s later: 1000 writes over 5 s');
  w.add(5500, counters(1000, 4096000));
  assert.equal(w.rates().ops.write, 0, 'the burst has left the window');
  w.add(7000, counters(3, 12288)); // Clear: counters went down
  assert.equal(w.rates().ops.write, 0, 'a clear restarts the window');
});

function memory(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

test('settings: defaults < remembered < URL; bad values are reported, not applied', () => {
  const store = memory();
  assert.deepEqual(loadSettings('', store).settings, { palette: 'laptop', flashMs: 300, present: false, maxFps: 60 });
  saveSettings({ palette: 'cvd', flashMs: 800, present: true, maxFps: 60 }, store);
  assert.deepEqual(loadSettings('', store).settings, { palette: 'cvd', flashMs: 800, present: true, maxFps: 60 });
  const fromUrl = loadSettings('?palette=projector&present=0&fps=25', store);
  assert.deepEqual(fromUrl.settings, { palette: 'projector', flashMs: 800, present: false, maxFps: 25 });
  const bad = loadSettings('?palette=neon&flash=5&fps=0', store);
  assert.equal(bad.settings.palette, 'cvd');
  assert.equal(bad.settings.maxFps, 60);
  assert.equal(bad.errors.length, 3);
  assert.match(bad.errors.join(' '), /unknown palette 'neon'/);
  assert.match(bad.errors.join(' '), /fps: expected 1-60, got '0'/);
  store.data.set(SETTINGS_KEY, '{not json');
  assert.equal(loadSettings('', store).settings.palette, 'laptop', 'corrupt storage: defaults');
  assert.equal(loadSettings('', null).settings.flashMs, 300, 'no storage at all');
  assert.equal(settingsQuery({ palette: 'projector', present: true }), '?palette=projector&present=1');
});

test('rates: the time machine moving the picture is a jump, playing or standing still is not', () => {
  const at = (positionSec: number, following = false, playing = false, speed = 1) =>
    ({ mode: 'live', following, playing, speed, positionSec }) as TimelineStatus;
  assert.equal(timelineJumped(at(100, true), at(101, true), 1000), false, 'following the live disks');
  assert.equal(timelineJumped(at(100, true), at(0), 1000), true, 'scrubbed back');
  assert.equal(timelineJumped(at(0), at(100, true), 1000), true, 'back to Live');
  assert.equal(timelineJumped(at(10), at(10), 1000), false, 'standing still in the past');
  assert.equal(timelineJumped(at(10), at(40), 1000), true, 'a seek in the past');
  assert.equal(timelineJumped(at(10, false, true, 4), at(14.1, false, true, 4), 1000), false, 'playing at 4×');
  assert.equal(timelineJumped(null, at(10), 1000), false, 'the first status');
});
