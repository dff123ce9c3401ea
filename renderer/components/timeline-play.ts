// What the time machine strip's play/pause button says. The toolbar has a pause too ("Pause
// view": the page stops drawing, nothing else changes); this one moves the time machine, so its
// words say what it does to the picture: following the live disks it freezes it at this instant
// (the disks keep serving and the recording goes on), playing a stretch back it pauses that
// playback, paused it plays the recording on from here.

import type { TimelineAction, TimelineStatus } from '../../server/shared/types.ts';

export interface PlayButton {
  text: string;
  /** Starts with the visible text, so speech input finds the button by what it reads. */
  ariaLabel: string;
  title: string;
  action: TimelineAction;
}

export function playButton(t: Pick<TimelineStatus, 'following' | 'playing'>): PlayButton {
  if (t.following)
    return {
      text: 'Freeze',
      ariaLabel: 'Freeze the time machine at this instant',
      title:
        'Time machine: stop the picture at this instant to look at it; the disks keep serving and the recording goes on (L: live again)',
      action: 'pause',
    };
  if (t.playing)
    return {
      text: 'Pause playback',
      ariaLabel: 'Pause playback of the recording',
      title: 'Time machine: pause playing the recording back (the disks keep serving and recording)',
      action: 'pause',
    };
  return {
    text: 'Play',
    ariaLabel: 'Play the recording from here',
    title: 'Time machine: play the recording on from this instant (L: live)',
    action: 'play',
  };
}
