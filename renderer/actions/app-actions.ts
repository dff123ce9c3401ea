// Every user action of the app, declared once (see registry.ts for the key map).

import { PALETTE_NAMES } from '../../server/shared/ui-settings.ts';
import type { Controller } from '../controller.ts';
import * as engine from '../engine-calls.ts';
import { getUi, hasErrorToggle, setUi, sourceMode, type UiState } from '../store/store.ts';
import { ActionRegistry, type Action } from './registry.ts';
import { STRUCTURE_ACTIONS } from './structure-actions.ts';

type A = Action<Controller>;

const say = (text: string) => setUi({ announce: { text, at: performance.now() } });
const isReplay = (s: UiState) => sourceMode(s) === 'replay';
const disk = (s: UiState, n?: number) => s.disks.find((d) => d.number === n);

/** The disk a zoom key means: the focused grid, else the enlarged one, else every disk. */
function zoomTargets(s: UiState): number[] {
  if (s.cursor) return [s.cursor.disk];
  if (s.enlarged !== null) return [s.enlarged];
  return s.disks.map((d) => d.number);
}

function toggleFullscreen(on: boolean): void {
  // Fullscreen needs a user gesture (a key or a click); from a URL parameter it just stays windowed.
  try {
    if (on && !document.fullscreenElement) void document.documentElement.requestFullscreen?.().catch(() => {});
    if (!on && document.fullscreenElement) void document.exitFullscreen?.().catch(() => {});
  } catch {
    // not allowed here (an iframe, a test browser): presentation mode works windowed
  }
}

export const APP_ACTIONS: A[] = [
  {
    name: 'pause',
    label: (s) => {
      if (isReplay(s)) return s.replay?.playing ? 'Pause' : s.replay?.finished ? 'Replay again' : 'Play';
      // "view": the time machine strip has a pause of its own (it freezes the recording's
      // picture at an instant); this one only stops the page drawing.
      return s.paused ? 'Resume view' : 'Pause view';
    },
    description:
      'Pause the view: picture, counters and tooltip stop while the disks keep serving and the time machine keeps recording (in replay: pause playback)',
    keys: [' ', 'p'],
    engine: isReplay,
    pressed: (s) => (isReplay(s) ? !s.replay?.playing : s.paused),
    async perform({ c, s }) {
      if (isReplay(s)) {
        const r = s.replay;
        if (r?.playing) await engine.replay(c, 'pause');
        else if (r?.finished) {
          await engine.replay(c, 'seek', { seconds: 0 });
          await engine.replay(c, 'resume');
        } else await engine.replay(c, 'resume');
        return;
      }
      setUi({ paused: !s.paused, hover: s.paused ? s.hover : null });
      say(s.paused ? 'View resumed' : 'View paused: the disks keep serving');
    },
  },
  {
    name: 'hold',
    label: (s) => (s.disks.some((d) => d.held) ? 'Release I/O' : 'Hold I/O'),
    description: 'Hold I/O: stall every request in the engine (clients wait, requests show in flight) until released',
    keys: ['h'],
    available: (s) => sourceMode(s) === 'server',
    engine: true,
    pressed: (s) => s.disks.some((d) => d.held),
    async perform({ c, s }) {
      const on = !s.disks.some((d) => d.held);
      await engine.setHold(c, on);
      say(on ? 'I/O held: requests wait until released' : 'I/O released');
    },
  },
  {
    name: 'clearAll',
    label: 'Clear',
    description: 'Clear the picture and counters of every disk (the data stays)',
    keys: ['c'],
    engine: true,
    async perform({ c, s }) {
      await Promise.all(s.disks.map((d) => engine.clearPicture(c, d.number)));
      say('Pictures cleared');
    },
  },
  {
    name: 'palette',
    label: 'Next palette',
    description: 'Switch to the next palette (laptop, projector, colour-blind safe)',
    keys: ['t'],
    perform({ c, s }) {
      const i = PALETTE_NAMES.indexOf(s.settings.palette);
      const next = PALETTE_NAMES[(i + 1) % PALETTE_NAMES.length];
      c.updateSetting('palette', next);
      say(`Palette: ${next}`);
    },
  },
  {
    name: 'presentation',
    label: (s) => (s.settings.present ? 'Exit presentation' : 'Present'),
    description: 'Presentation mode: full screen, big grids, a thin control strip',
    keys: ['f'],
    pressed: (s) => s.settings.present,
    perform({ c, s }) {
      const on = !s.settings.present;
      c.updateSetting('present', on);
      toggleFullscreen(on);
      say(on ? 'Presentation mode' : 'Presentation mode off');
    },
  },
  {
    name: 'enlarge',
    label: (s, n) => (s.enlarged === n ? 'Show all disks' : `Enlarge disk ${n}`),
    description: 'Show one disk large (its number key; again to go back)',
    keyDisk: (k) => (/^[1-9]$/.test(k) ? Number(k) : undefined),
    available: (s, n) => s.disks.length > 1 && !!disk(s, n),
    pressed: (s, n) => s.enlarged === n,
    perform({ s }, n) {
      setUi({ enlarged: s.enlarged === n ? null : (n ?? null) });
    },
  },
  {
    name: 'zoomIn',
    label: 'Zoom in',
    description: 'Zoom in (the focused or enlarged disk, else all)',
    keys: ['+', '='],
    perform({ c, s }) {
      for (const n of zoomTargets(s)) c.grid.zoomCentre(n, 2);
    },
  },
  {
    name: 'zoomOut',
    label: 'Zoom out',
    description: 'Zoom out',
    keys: ['-'],
    perform({ c, s }) {
      for (const n of zoomTargets(s)) c.grid.zoomCentre(n, 0.5);
    },
  },
  {
    name: 'zoomReset',
    label: 'Fit',
    description: 'Back to the whole disk (no zoom)',
    keys: ['0'],
    perform({ c, s }) {
      for (const n of zoomTargets(s)) c.grid.resetView(n);
    },
  },
  {
    name: 'commands',
    label: 'Commands',
    description: 'The client commands that build this layout (guestfish, qemu-io, nbdinfo), URIs filled in',
    available: (s) => sourceMode(s) === 'server',
    engine: true,
    perform: ({ c }) => engine.showCommands(c),
  },
  {
    name: 'nextStep',
    label: (s) => (s.caption && s.caption.step >= s.caption.total ? 'Finish' : 'Next step'),
    description: 'Demo in step mode: go on to the next step (presenter remotes send PageDown or →)',
    keys: ['n', 'PageDown', 'ArrowRight'],
    available: (s) => s.caption?.phase === 'waiting',
    engine: true,
    perform: ({ c }) => engine.demoNext(c),
  },
  {
    name: 'help',
    label: '?',
    ariaLabel: () => 'Keyboard shortcuts',
    description: 'Show the keyboard shortcuts',
    keys: ['?'],
    perform({ s }) {
      setUi({ popover: s.popover?.kind === 'help' ? null : { kind: 'help' } });
    },
  },
  {
    name: 'escape',
    label: 'Back',
    description:
      'Close a panel, turn the Structure overlay off, show all disks, leave presentation mode (in that order)',
    keys: ['Escape'],
    perform({ c, s }) {
      // The panels, top one first: a dialog, then what the time machine strip opened (the export
      // row, the plots), then the Structure overlay (its panel and tints; S brings them back).
      if (s.popover || s.commands) setUi({ popover: null, commands: null });
      else if (s.exportOpen || s.plots) setUi({ exportOpen: false, plots: false });
      else if (s.structureOn) c.runAction('structure');
      else if (s.enlarged !== null) setUi({ enlarged: null });
      else if (s.settings.present) c.runAction('presentation');
    },
  },
  // ---- Per-disk actions (the disk number is the argument) ----
  {
    name: 'toggleErrors',
    label: 'Error',
    ariaLabel: (_s, n) => `Disk ${n} errors`,
    description: 'Inject I/O errors: every request on this disk fails until unchecked',
    available: (s, n) => !!disk(s, n) && hasErrorToggle(disk(s, n)!),
    engine: true,
    pressed: (s, n) => !!disk(s, n)?.errorsOn,
    perform: ({ c, s }, n) => engine.setErrors(c, n!, !disk(s, n)?.errorsOn),
  },
  {
    name: 'clearDisk',
    label: 'Clear',
    ariaLabel: (_s, n) => `Clear disk ${n}`,
    description: "Clear this disk's picture and counters (the data stays)",
    engine: true,
    perform: ({ c }, n) => engine.clearPicture(c, n!),
  },
  {
    name: 'resetDisk',
    label: 'Reset…',
    ariaLabel: (_s, n) => `Reset disk ${n}`,
    description: "Discard this disk's data (asks first)",
    // Attach and replay only watch: there is no data here to discard.
    available: (s, n) => disk(s, n)?.mode === 'server',
    engine: true,
    async perform({ c }, n) {
      if (confirm(`Discard all data on disk ${n}?`)) await engine.resetDisk(c, n!);
    },
  },
  {
    name: 'copyUri',
    label: (s, n) => {
      const cp = s.copied;
      return cp?.key === `uri-${n}` ? (cp.ok ? 'Copied ✓' : 'Copy failed') : 'Copy';
    },
    ariaLabel: (_s, n) => `Copy disk ${n} NBD URI`,
    description: "Copy this disk's NBD URI",
    available: (s, n) => !!disk(s, n)?.uris[0],
    perform: ({ s }, n) => engine.copyText(disk(s, n)!.uris[0], `uri-${n}`, `disk ${n} URI`),
  },
  {
    name: 'details',
    label: '⋯',
    ariaLabel: (_s, n) => `Disk ${n} details`,
    description: "This disk's URI, delays, counters and buttons",
    pressed: (s, n) => s.popover?.kind === 'details' && s.popover.disk === n,
    perform({ s }, n) {
      const open = s.popover?.kind === 'details' && s.popover.disk === n;
      setUi({ popover: open ? null : { kind: 'details', disk: n! } });
    },
  },
];

export function createActions(c: Controller): ActionRegistry<Controller> {
  const registry = new ActionRegistry<Controller>(() => ({ c, s: getUi() }));
  for (const a of [...APP_ACTIONS, ...STRUCTURE_ACTIONS]) registry.register(a);
  c.runAction = (name) => registry.run(name);
  return registry;
}
