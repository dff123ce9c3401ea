import assert from 'node:assert/strict';
import { test } from 'node:test';
import { playButton } from './timeline-play.ts';

test("the time machine's play button never reads like the toolbar's Pause view", () => {
  const states = [
    { following: true, playing: true },
    { following: false, playing: true },
    { following: false, playing: false },
  ];
  const buttons = states.map(playButton);
  assert.deepEqual(
    buttons.map((b) => [b.text, b.action]),
    [
      ['Freeze', 'pause'],
      ['Pause playback', 'pause'],
      ['Play', 'play'],
    ],
  );
  for (const b of buttons) {
    assert.ok(!/^(Pause|Resume)( view)?$/.test(b.text), b.text);
    // Label in name: the accessible name begins with what the button reads.
    assert.ok(b.ariaLabel.startsWith(b.text), b.ariaLabel);
    assert.match(b.title, /^Time machine: /);
  }
});
