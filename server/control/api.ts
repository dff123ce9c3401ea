// The control API: one validated entry point for every way of steering the engine (HTTP
// routes, WebSocket messages, Electron IPC). Methods and types: ControlMethods in types.ts.

import { mkdtempSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine.ts';
import { isPreset, presetCommands, presetSpecs, type PresetOptions } from '../presets.ts';
import { parseSize } from '../size.ts';
import { TIMELINE_ACTIONS, type ControlMethod, type ControlMethods, type TimelineAction } from '../shared/types.ts';
import { MAX_SPEED, MIN_SPEED } from '../timeline/player.ts';
import { STRUCTURE_METHODS, structureCall, type StructureMethod } from './structure-api.ts';
import { TimelineLoans, type ControlCaller } from './timeline-loans.ts';
import { ValidationError, bool, int, num, obj, optInt, optStr, str, stringMap } from './validate.ts';

export const CONTROL_METHODS: readonly ControlMethod[] = [
  ...STRUCTURE_METHODS,
  'listDisks',
  'health',
  'setErrors',
  'setHold',
  'setFilterParams',
  'inspectCell',
  'clearPicture',
  'resetDisk',
  'applyPreset',
  'presetCommands',
  'replay',
  'timeline',
  'timelineOverview',
  'timelineSeries',
  'saveRecording',
  'demo',
];

const REPLAY_ACTIONS = ['status', 'pause', 'resume', 'step', 'seek', 'speed'] as const;
/** The old replay actions, as timeline actions. */
const REPLAY_AS_TIMELINE = {
  status: 'status',
  pause: 'pause',
  resume: 'play',
  step: 'step',
  seek: 'seek',
  speed: 'speed',
} as const;

/** The event-loop delay histogram's sampling interval. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/**
 * A sample of monitorEventLoopDelay (ns) as how late the loop ran (ms, 0.01 ms steps). Node
 * records the time between two runs of its sampling timer, i.e. the resolution plus the delay:
 * an idle loop reads 10 ms. The delay is how late the timer ran.
 */
export function loopDelayMs(ns: number): number {
  return Math.max(0, Math.round(ns / 1e4 - LOOP_DELAY_RESOLUTION_MS * 100) / 100);
}

export class ControlApi {
  private readonly presetDefaults: PresetOptions;
  /** The control thread's event-loop delay (it is also the engine's thread: issue 13). */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private loopDelaySince = performance.now();
  private readonly loans: TimelineLoans;

  constructor(
    private readonly engine: Engine,
    presetDefaults: Partial<PresetOptions> = {},
  ) {
    this.presetDefaults = {
      host: '127.0.0.1',
      port: 0,
      unixDir: null,
      size: 64n << 20n,
      delayMs: 40,
      logDir: presetDefaults.logDir ?? mkdtempSync(join(tmpdir(), 'blockscope-logs-')),
      ...presetDefaults,
    };
    this.loopDelay.enable();
    this.loans = new TimelineLoans(engine);
  }

  /** Event-loop delay since the previous call; the histogram starts over. */
  private health(): ControlMethods['health']['result'] {
    const h = this.loopDelay;
    const ms = loopDelayMs;
    const now = performance.now();
    const out = {
      eventLoopDelayMs: h.count
        ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
        : { p50: 0, p99: 0, max: 0 },
      sinceMs: Math.round(now - this.loopDelaySince),
    };
    h.reset();
    this.loopDelaySince = now;
    return out;
  }

  private disk(p: Record<string, unknown>) {
    const n = int(p, 'disk', 1, 16);
    return this.engine.disk(n);
  }

  private async timeline() {
    await this.engine.timelineSettled;
    const t = this.engine.timeline;
    if (!t) throw new Error('no recording: the time machine is off (started with --no-record?)');
    return t;
  }

  private async timelineAct(action: TimelineAction, p: Record<string, unknown>, caller?: ControlCaller) {
    const t = await this.timeline();
    const params: { seconds?: number; speed?: number } = {};
    if (action === 'seek') params.seconds = num(p, 'seconds', 0, 1e9);
    if (action === 'speed') params.speed = num(p, 'speed', MIN_SPEED, MAX_SPEED);
    const borrow = p.borrow === undefined ? false : bool(p, 'borrow');
    // A status query moves nothing: it neither opens nor closes a loan.
    if (action !== 'status') this.loans.note(caller, t, borrow);
    const status = await t.act(action, params);
    // The new picture goes out before the answer: a client that awaits the seek sees it at once.
    this.engine.flushFrames();
    return status;
  }

  /**
   * Validate and run one call. Throws ValidationError (bad input) or Error (refused). `caller`:
   * the connection making it, when the transport has one (timeline-loans.ts).
   */
  async call(method: unknown, rawParams: unknown, caller?: ControlCaller): Promise<unknown> {
    if (typeof method !== 'string' || !(CONTROL_METHODS as readonly string[]).includes(method)) {
      throw new ValidationError(`unknown method '${String(method)}' (methods: ${CONTROL_METHODS.join(', ')})`);
    }
    const p = obj(rawParams);
    if ((STRUCTURE_METHODS as readonly string[]).includes(method))
      return structureCall(this.engine, method as StructureMethod, p);
    switch (method as ControlMethod) {
      case 'listDisks':
        return this.engine.disks.map((d) => d.info()) satisfies ControlMethods['listDisks']['result'];
      case 'health':
        return this.health() satisfies ControlMethods['health']['result'];
      case 'setErrors': {
        const d = this.disk(p);
        const on = bool(p, 'on');
        await d.setErrors(on);
        const t = this.engine.timeline?.recorder;
        if (t) this.engine.mark({ kind: 'errors', timeUs: t.nowUs(), disk: d.number, on });
        return d.info();
      }
      case 'setHold': {
        const on = bool(p, 'on');
        const one = p.disk === undefined ? null : this.disk(p);
        const targets = one ? [one] : this.engine.disks.filter((d) => d.mode === 'server');
        if (!targets.length) throw new Error('no disk served here to hold (attach and replay only watch)');
        await Promise.all(targets.map((d) => d.setHold(on)));
        return this.engine.disks.map((d) => d.info());
      }
      case 'setFilterParams': {
        const d = this.disk(p);
        await d.setFilterParams(str(p, 'filter', 32), stringMap(p, 'params'));
        return d.info();
      }
      case 'inspectCell': {
        const d = this.disk(p);
        return d.shown().inspectCell(int(p, 'cell', 0, 2 ** 32), optInt(p, 'count', 1, 2 ** 32) ?? 1);
      }
      case 'clearPicture': {
        const d = this.disk(p);
        d.stats.clear();
        return d.info();
      }
      case 'resetDisk': {
        const d = this.disk(p);
        await d.reset();
        this.engine.structure?.invalidate(); // the data changed without a request on the bus
        return d.info();
      }
      case 'applyPreset': {
        const name = str(p, 'preset', 16);
        if (!isPreset(name)) throw new ValidationError(`unknown preset '${name}'`);
        const disks = optInt(p, 'disks', 1, 16);
        const sizeText = optStr(p, 'size', 32);
        let size = this.presetDefaults.size;
        if (sizeText !== undefined) {
          try {
            size = parseSize(sizeText);
          } catch (err) {
            throw new ValidationError(`size: ${(err as Error).message}`);
          }
          if (size === 0n) throw new ValidationError('size must be above 0');
        }
        const specs = presetSpecs(name, { ...this.presetDefaults, size, disks });
        await this.engine.replace(specs);
        this.engine.preset = name;
        return this.engine.disks.map((d) => d.info());
      }
      case 'replay': {
        const action = str(p, 'action', 16);
        if (!(REPLAY_ACTIONS as readonly string[]).includes(action))
          throw new ValidationError(`action must be one of ${REPLAY_ACTIONS.join(', ')}`);
        const s = await this.timelineAct(REPLAY_AS_TIMELINE[action as keyof typeof REPLAY_AS_TIMELINE], p);
        return {
          playing: s.playing,
          speed: s.speed,
          positionSec: s.positionSec,
          durationSec: s.endSec - s.startSec,
          finished: s.finished,
          requests: s.requests,
        };
      }
      case 'timeline': {
        const action = str(p, 'action', 16);
        if (!(TIMELINE_ACTIONS as readonly string[]).includes(action))
          throw new ValidationError(`action must be one of ${TIMELINE_ACTIONS.join(', ')}`);
        return this.timelineAct(action as TimelineAction, p, caller);
      }
      case 'timelineOverview':
        return (await this.timeline()).overview(optInt(p, 'bins', 1, 10_000) ?? 1000);
      case 'timelineSeries':
        return (await this.timeline()).series({
          disk: int(p, 'disk', 1, 16),
          fromSec: p.fromSec === undefined ? undefined : num(p, 'fromSec', 0, 1e9),
          toSec: p.toSec === undefined ? undefined : num(p, 'toSec', 0, 1e9),
          bins: optInt(p, 'bins', 1, 5000),
          points: optInt(p, 'points', 0, 200_000),
        });
      case 'saveRecording':
        return (await this.timeline()).save(str(p, 'path', 4096));
      case 'demo': {
        const d = this.engine.demo;
        if (!d) throw new Error('no demo is running (npm run demo -- single|raid5)');
        const action = str(p, 'action', 16);
        if (action !== 'status' && action !== 'next') throw new ValidationError('action must be status or next');
        if (action === 'next') d.next();
        return d.status();
      }
      case 'presetCommands': {
        const preset = this.engine.preset && isPreset(this.engine.preset) ? this.engine.preset : null;
        const uris = this.engine.disks.map((d) => d.path?.uris[0]).filter((u): u is string => !!u);
        return { preset, commands: presetCommands(preset, uris, this.engine.disks[0]?.spec?.tls) };
      }
    }
  }
}
