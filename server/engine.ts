// The engine: the set of disks the app (or headless CLI) is showing. The control API, the
// HTTP/WebSocket bridge and the Electron main process all talk to one Engine.

import { Disk, type DiskSpec } from './disk.ts';
import type { Mark } from './record/format.ts';
import type { DemoStatus, ServerPush } from './shared/types.ts';
import type { Timeline } from './timeline/timeline.ts';
import { StructureService, type StructureServiceOptions } from './structure/service.ts';

/** A demo running on this engine (server/demos/driver.ts). */
export interface DemoControl {
  status(): DemoStatus;
  /** Step mode: the presenter asks for the next step. */
  next(): void;
}

export class Engine {
  private _disks: Disk[] = [];
  /** The layout preset the disk set came from, if any (for presetCommands). */
  preset: string | null = null;
  /** The time machine: the live recording's timeline, or a replay's (null when not recording). */
  timeline: Timeline | null = null;
  /**
   * Settles once the recording that follows a disk-set change is in place: `timeline` is null
   * for that moment, and a call that came then must wait, not hear "the time machine is off".
   */
  timelineSettled: Promise<void> = Promise.resolve();
  /** Asks every frame pump to cut a frame now (a seek answers after its picture is sent). */
  readonly framePumps = new Set<{ tick(): void }>();
  private markListeners: Array<(m: Mark) => void> = [];
  /** Set while a demo runs. */
  demo: DemoControl | null = null;
  /** Called after the disk set changes (preset applied, disks added/removed). */
  private changeListeners: Array<() => void> = [];
  /** What each block is (partitions, filesystems, RAID roles), kept current; null when turned off. */
  readonly structure: StructureService | null;

  constructor(o: { structure?: boolean | StructureServiceOptions } = {}) {
    this.structure = o.structure === false ? null : new StructureService(this, o.structure === true ? {} : o.structure);
  }

  get disks(): readonly Disk[] {
    return this._disks;
  }

  disk(n: number): Disk {
    const d = this._disks.find((x) => x.number === n);
    if (!d) throw new Error(`no disk ${n} (disks: ${this._disks.map((x) => x.number).join(', ') || 'none'})`);
    return d;
  }

  /** Start served disks; on failure, disks started so far are closed again. */
  async serve(specs: DiskSpec[]): Promise<Disk[]> {
    const started: Disk[] = [];
    try {
      for (const spec of specs) started.push(await Disk.serve(spec));
    } catch (err) {
      await Promise.all(started.map((d) => d.close()));
      throw err;
    }
    this._disks = [...this._disks, ...started].sort((a, b) => a.number - b.number);
    for (const d of started) this.watchUpstream(d);
    this.changed();
    return started;
  }

  /** Proxy disks: tell every UI when the upstream server goes away or comes back. */
  private watchUpstream(d: Disk): void {
    d.path?.onUpstreamChange((u) => {
      if (!this._disks.includes(d) || u.state === 'closed') return;
      const msg =
        u.state === 'connected'
          ? `disk ${d.number}: upstream ${u.uri} is back`
          : `disk ${d.number}: upstream ${u.uri} unreachable (${u.message}); reconnecting`;
      this.push({ event: 'status', message: msg, level: u.state === 'connected' ? 'info' : 'warn' });
      this.push({ event: 'disks', disks: this._disks.map((x) => x.info()) });
    });
  }

  /** Add disks fed by log readers (attach/replay). */
  addExternal(disks: Disk[]): void {
    this._disks = [...this._disks, ...disks].sort((a, b) => a.number - b.number);
    this.changed();
  }

  /** Replace the whole disk set (layout presets). */
  async replace(specs: DiskSpec[]): Promise<Disk[]> {
    await this.closeAll();
    return this.serve(specs);
  }

  async closeAll(): Promise<void> {
    const old = this._disks;
    this._disks = [];
    await Promise.all(old.map((d) => d.close()));
    this.changed();
  }

  private pushListeners: Array<(msg: ServerPush) => void> = [];

  /** The demo caption now showing: a page that connects (or reloads) mid-demo gets it too. */
  lastCaption: Extract<ServerPush, { event: 'caption' }> | null = null;

  /** Broadcast a message to every UI (demo captions, status lines). */
  push(msg: ServerPush): void {
    if (msg.event === 'caption') this.lastCaption = msg.text || msg.phase === 'done' ? msg : null;
    for (const l of this.pushListeners) l(msg);
  }

  /**
   * What a view that connects (or reloads) needs at once, in order: the time machine's status
   * first, so its strip is in place before the disks are first laid out (the grids do not jump
   * when the next periodic status arrives), then the disks, then the caption now showing.
   */
  greeting(): ServerPush[] {
    const out: ServerPush[] = [];
    if (this.timeline) out.push({ event: 'timeline', status: this.timeline.status() });
    out.push({ event: 'disks', disks: this._disks.map((d) => d.info()) });
    if (this.lastCaption) out.push(this.lastCaption);
    return out;
  }

  onPush(listener: (msg: ServerPush) => void): () => void {
    this.pushListeners.push(listener);
    return () => {
      this.pushListeners = this.pushListeners.filter((l) => l !== listener);
    };
  }

  /** A moment worth a marker on the timeline (an Error toggle, a note). */
  mark(m: Mark): void {
    for (const l of this.markListeners) l(m);
  }

  onMark(listener: (m: Mark) => void): () => void {
    this.markListeners.push(listener);
    return () => {
      this.markListeners = this.markListeners.filter((l) => l !== listener);
    };
  }

  flushFrames(): void {
    for (const p of this.framePumps) p.tick();
  }

  /** Tell listeners the disks changed in what they show (the timeline left or rejoined live). */
  notifyChange(): void {
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.push(listener);
    return () => {
      this.changeListeners = this.changeListeners.filter((l) => l !== listener);
    };
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }
}
