import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiskInfo, TimelineStatus } from '../../server/shared/types.ts';
import { statusText } from './status-text.ts';

const base = { paused: false, replay: null, disks: [{ held: false } as DiskInfo], retry: null, timeline: null };

test('the status pill says what the connection is doing in words a user reads', () => {
  const now = 1_000_000;
  assert.equal(statusText({ ...base, status: 'open' }, now), 'live|live');
  assert.equal(statusText({ ...base, disks: [], status: 'connecting' }, now), 'connecting|connecting');
  assert.equal(
    statusText({ ...base, status: 'closed', retry: { attempt: null, at: now + 1800, inMs: 2000 } }, now),
    'closed|disconnected — retrying in 2 s',
  );
  // The wait bounds a stale clock; under a second left still says 1 s.
  assert.equal(
    statusText({ ...base, status: 'closed', retry: { attempt: null, at: now + 4000, inMs: 4000 } }, now - 60_000),
    'closed|disconnected — retrying in 4 s',
  );
  assert.equal(
    statusText({ ...base, status: 'closed', retry: { attempt: null, at: now + 200, inMs: 250 } }, now),
    'closed|disconnected — retrying in 1 s',
  );
  assert.equal(statusText({ ...base, status: 'closed' }, now), 'closed|disconnected');
  assert.equal(
    statusText({ ...base, status: 'connecting', retry: { attempt: 3, at: null, inMs: 0 } }, now),
    'connecting|reconnecting (attempt 3)…',
  );
  assert.equal(statusText({ ...base, status: 'refused' }, now), 'refused|session ended');
});

test('a grid scrubbed back by the time machine is never called live', () => {
  const now = 1_000_000;
  const at = (following: boolean, playing = false) =>
    ({ mode: 'live', following, playing, positionSec: 12.3 }) as TimelineStatus;
  assert.equal(statusText({ ...base, status: 'open', timeline: at(true) }, now), 'live|live');
  assert.equal(statusText({ ...base, status: 'open', timeline: at(false) }, now), 'paused|time machine: not live (L)');
  assert.equal(
    statusText({ ...base, status: 'open', timeline: at(false, true) }, now),
    'paused|time machine playing: not live (L)',
  );
  assert.equal(
    statusText({ ...base, status: 'open', paused: true, timeline: at(false) }, now),
    'paused|view paused · time machine',
  );
  const held = { ...base, disks: [{ held: true } as DiskInfo] };
  assert.equal(
    statusText({ ...held, status: 'open', timeline: at(false) }, now),
    'paused|time machine: not live (L) · I/O held',
  );
});
