// What the UI asks of the engine, through the transport: toggles, delays, presets, replay. Each
// call reports failures in the footer instead of throwing (until the same kind of call next
// succeeds, or for a while: store/messages.ts), and updates the disk it got back.

import type {
  ControlMethod,
  ControlMethods,
  DiskInfo,
  PresetName,
  ReplayAction,
  TimelineAction,
} from '../server/shared/types.ts';
import type { Controller } from './controller.ts';
import { reportFailure, reportSuccess } from './store/messages.ts';
import { getUi, setUi } from './store/store.ts';

async function call<M extends ControlMethod>(
  c: Controller,
  method: M,
  params: ControlMethods[M]['params'],
): Promise<ControlMethods[M]['result'] | undefined> {
  try {
    const result = await c.transport.call(method, params);
    reportSuccess(method);
    return result;
  } catch (err) {
    reportFailure(method, (err as Error).message);
    return undefined;
  }
}

function replaceDisk(info: DiskInfo | undefined): void {
  if (!info) return;
  setUi({ disks: getUi().disks.map((d) => (d.number === info.number ? info : d)) });
}

export async function setErrors(c: Controller, disk: number, on: boolean): Promise<void> {
  // Optimistic: the checkbox follows the click at once; the engine's answer then confirms it.
  // Not while the engine is unreachable: the call fails, and a disk must not look FAILED meanwhile.
  const before = getUi().disks.find((d) => d.number === disk);
  if (getUi().status === 'open') {
    if (before) replaceDisk({ ...before, errorsOn: on });
    c.grid.setFailed(disk, on);
  }
  const after = await call(c, 'setErrors', { disk, on });
  replaceDisk(after ?? before);
  c.grid.setFailed(disk, (after ?? before)?.errorsOn ?? false);
}

/** Hold I/O on every served disk (or one): requests stall in the engine until released. */
export async function setHold(c: Controller, on: boolean, disk?: number): Promise<void> {
  const disks = await call(c, 'setHold', disk === undefined ? { on } : { on, disk });
  if (disks) setUi({ disks });
}

/** One delay of the delay filter, by its nbdkit name (rdelay, delay-write, delay-trim, delay-zero). */
export async function setDelay(c: Controller, disk: number, key: string, ms: number): Promise<void> {
  replaceDisk(await call(c, 'setFilterParams', { disk, filter: 'delay', params: { [key]: `${Math.round(ms)}ms` } }));
}

export async function applyPreset(c: Controller, preset: PresetName, disks?: number): Promise<void> {
  await call(c, 'applyPreset', { preset, disks });
  if (getUi().commands) await showCommands(c);
}

export async function showCommands(c: Controller): Promise<void> {
  const cmds = await call(c, 'presetCommands', {});
  if (cmds) setUi({ commands: cmds.commands });
}

export async function clearPicture(c: Controller, disk: number): Promise<void> {
  c.grid.painter(disk)?.clear();
  replaceDisk(await call(c, 'clearPicture', { disk }));
}

export async function resetDisk(c: Controller, disk: number): Promise<void> {
  c.grid.painter(disk)?.clear();
  replaceDisk(await call(c, 'resetDisk', { disk }));
}

export async function replay(c: Controller, action: ReplayAction, extra: { seconds?: number; speed?: number } = {}) {
  const status = await call(c, 'replay', { action, ...extra });
  if (status) setUi({ replay: status });
  return status;
}

/** A time-machine action (seek, live, step…): the strip shows the status it got back. */
export async function timelineAction(
  c: Controller,
  action: TimelineAction,
  extra: { seconds?: number; speed?: number } = {},
): Promise<void> {
  const status = await call(c, 'timeline', { action, ...extra });
  if (status) setUi({ timeline: status });
}

/** Step mode of a demo: the presenter goes on. */
export async function demoNext(c: Controller): Promise<void> {
  await call(c, 'demo', { action: 'next' });
}

/** Copy text to the clipboard and say whether it worked (button label + screen reader). */
export async function copyText(text: string, key: string, what: string): Promise<void> {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // No clipboard permission (plain http, headless): the old way still works in most browsers.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      // nothing else to try: say so below
    }
    area.remove();
  }
  const at = performance.now();
  setUi({
    copied: { key, ok, at },
    announce: { text: ok ? `Copied ${what}` : `Could not copy ${what}: select it and copy by hand`, at },
  });
  // The button says "Copied" for a moment, then "Copy" again.
  setTimeout(() => {
    if (getUi().copied?.at === at) setUi({ copied: null });
  }, COPIED_MS);
}

export const COPIED_MS = 2000;
