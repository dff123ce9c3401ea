// The time machine as the control API sees it: one Timeline per session, live (a recording
// being written; "following" shows the live disks, anything else shows the player's state)
// or replay (a recording file or imported logs, played into the replay disks).

import { copyFile, constants } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Disk } from '../disk.ts';
import type { Engine } from '../engine.ts';
import { DiskStats } from '../events/disk-stats.ts';
import { EventBus } from '../events/event-bus.ts';
import { describeFileError } from '../record/file-error.ts';
import type { FileHeader } from '../record/format.ts';
import type { Recorder } from '../record/recorder.ts';
import type { SessionIndex } from '../record/session-index.ts';
import type { TimelineAction, TimelineOverview, TimelineSeries, TimelineStatus } from '../shared/types.ts';
import { overview, series, toSec } from './overview.ts';
import { Player, type PlaybackTarget } from './player.ts';

export interface TimelineSession {
  index: SessionIndex;
  header: FileHeader;
  /** The file on disk (replay) — saveRecording copies it. */
  path: string;
  close(): Promise<void>;
}

export class Timeline {
  readonly player: Player;
  following: boolean;
  private finished = false;
  private readonly refresh: NodeJS.Timeout;
  /** Live: the file is deleted at exit unless saved (a default location was used). */
  temporary = false;
  /** True while the timeline itself pushes a recorded caption (the recorder must not record it again). */
  echo = false;

  constructor(
    private readonly engine: Engine,
    readonly disks: readonly Disk[],
    readonly session: TimelineSession,
    readonly recorder: Recorder | null,
  ) {
    const live = recorder !== null;
    const targets = new Map<number, PlaybackTarget>();
    for (const d of disks) {
      if (live) {
        const bus = new EventBus();
        targets.set(d.number, { disk: d.number, bus, stats: new DiskStats(d.number, d.size, bus) });
      } else {
        targets.set(d.number, { disk: d.number, bus: d.bus, stats: d.stats });
        d.errorToggleState = () => this.player.errorsAt(d.number);
      }
    }
    this.following = live;
    this.player = new Player(session.index, session.header, targets, {
      beforeRead: () => recorder?.seal(),
      onCaption: (m) => {
        if (this.following) return;
        this.echo = true;
        this.engine.push({
          event: 'caption',
          step: m?.step ?? 0,
          total: m?.total ?? 0,
          title: m?.title ?? '',
          text: m?.text ?? '',
        });
        this.echo = false;
      },
      onEnd: () => {
        if (live) this.follow();
        else this.finished = true;
        this.pushStatus();
      },
    });
    this.refresh = setInterval(() => this.pushStatus(), 1000);
    this.refresh.unref();
    if (recorder) recorder.writer.onStopped = () => this.recordingStopped();
  }

  /**
   * Live, after a write error: the instant where the recording stopped. The index then holds
   * only what reached the file, so this is also where the file ends; the time machine offers
   * up to here and Live (the disks go on), never the part that was only in memory: a session
   * you scrubbed through must replay the same from its file.
   */
  private stoppedUs(): number | null {
    return this.recorder?.writer.error ? this.player.endUs : null;
  }

  /** Writing failed and the index lost its unwritten tail: the player must not go on from it. */
  private recordingStopped(): void {
    this.player.forget();
    if (!this.following) void this.player.seek(Math.min(this.player.positionUs, this.player.endUs)).catch(() => {});
    this.pushStatus();
  }

  get mode(): 'live' | 'replay' {
    return this.recorder ? 'live' : 'replay';
  }

  private follow(): void {
    this.player.pause();
    this.following = true;
    for (const d of this.disks) d.view = null;
    this.engine.notifyChange();
  }

  private unfollow(): void {
    if (!this.following) return;
    this.following = false;
    for (const d of this.disks) d.view = this.player.targets.get(d.number)!.stats;
    this.engine.notifyChange();
  }

  private nowUs(): number {
    return this.recorder ? this.recorder.nowUs() : this.player.endUs;
  }

  /** The last instant that can be shown: now (live), where the file ends (stopped, replay). */
  private endUs(): number {
    return this.recorder ? (this.stoppedUs() ?? this.nowUs()) : this.player.endUs;
  }

  status(): TimelineStatus {
    const r = this.recorder?.status();
    const stopped = this.stoppedUs();
    const end = this.endUs();
    return {
      mode: this.mode,
      following: this.following,
      playing: this.following || this.player.playing,
      speed: this.player.speed,
      positionSec: toSec(this.following ? end : this.player.positionUs),
      startSec: toSec(this.player.startUs),
      endSec: toSec(end),
      finished: !this.recorder && (this.finished || this.player.positionUs >= this.player.endUs),
      requests: this.recorder ? this.recorder.requests : this.session.index.entries.reduce((n, e) => n + e.requests, 0),
      recording: r
        ? {
            path: r.path,
            temporary: this.temporary,
            bytes: r.bytes,
            limitBytes: r.capacity,
            droppedBytes: r.droppedBytes,
            droppedBeforeSec: toSec(r.droppedUntilUs),
            lost: r.lost,
            error: r.error,
            stoppedAtSec: stopped === null ? null : toSec(stopped),
          }
        : null,
    };
  }

  pushStatus(): void {
    this.engine.push({ event: 'timeline', status: this.status() });
  }

  async act(action: TimelineAction, p: { seconds?: number; speed?: number } = {}): Promise<TimelineStatus> {
    const live = this.recorder !== null;
    switch (action) {
      case 'status':
        return this.status();
      case 'play':
        if (!this.following) {
          if (!live && this.player.positionUs >= this.player.endUs) await this.player.seek(this.player.startUs);
          this.finished = false;
          this.player.play();
        }
        break;
      case 'pause':
        if (this.following) await this.freezeAt(this.nowUs());
        this.player.pause();
        break;
      case 'step':
        if (this.following) await this.freezeAt(this.nowUs());
        await this.player.step();
        break;
      case 'seek': {
        const us = (p.seconds ?? 0) * 1e6;
        const stopped = this.stoppedUs();
        if (live && us >= this.nowUs()) this.follow();
        // 1 µs of slack: seconds came through a float division.
        else if (stopped !== null && us > stopped + 1)
          throw new Error(
            `seek: the recording stopped at ${toSec(stopped).toFixed(3)} s (${describeFileError(this.recorder!.writer.error!)}); ` +
              'what came after is not in the file: seek up to there, or go live',
          );
        else await this.freezeAt(us, this.player.playing);
        break;
      }
      case 'speed':
        this.player.setSpeed(p.speed ?? 1);
        break;
      case 'live':
        if (!live) throw new Error('live: this is a replay (no live disks to follow)');
        this.follow();
        break;
      case 'nextBurst': {
        if (this.following) break;
        const t = this.player.nextBurstUs();
        if (t === null && live) this.follow();
        else await this.player.seek(t === null ? this.player.endUs : Math.max(this.player.startUs, t - 1));
        break;
      }
    }
    const s = this.status();
    this.engine.push({ event: 'timeline', status: s });
    return s;
  }

  /** Show the state at `us` (leaving live mode), playing on if asked. */
  private async freezeAt(us: number, keepPlaying = false): Promise<void> {
    const wasFollowing = this.following;
    await this.player.seek(us);
    this.unfollow();
    if (wasFollowing || !keepPlaying) this.player.pause();
  }

  overview(bins: number): TimelineOverview {
    this.recorder?.seal();
    const o = overview(
      this.session.index,
      this.disks.map((d) => d.number),
      bins,
    );
    if (this.recorder) o.endSec = toSec(this.endUs());
    return o;
  }

  series(q: {
    disk: number;
    fromSec?: number;
    toSec?: number;
    bins?: number;
    points?: number;
  }): Promise<TimelineSeries> {
    this.recorder?.seal();
    if (!this.disks.some((d) => d.number === q.disk)) throw new Error(`no disk ${q.disk} in this session`);
    const from = q.fromSec !== undefined ? q.fromSec * 1e6 : this.player.startUs;
    const to = q.toSec !== undefined ? q.toSec * 1e6 : this.endUs();
    return series(this.session.index, {
      disk: q.disk,
      fromUs: Math.max(from, this.player.startUs),
      toUs: to,
      bins: q.bins ?? 200,
      points: q.points ?? 5000,
    });
  }

  async save(path: string): Promise<{ path: string; bytes: number }> {
    if (!isAbsolute(path) || !path.endsWith('.bsrec'))
      throw new Error('saveRecording: path must be absolute and end in .bsrec');
    if (this.recorder) {
      await this.recorder.flush();
      const bytes = await this.recorder.writer.saveCopy(path);
      return { path, bytes };
    }
    await copyFile(this.session.path, path, constants.COPYFILE_EXCL);
    return { path, bytes: (await import('node:fs')).statSync(path).size };
  }

  async close(): Promise<void> {
    clearInterval(this.refresh);
    this.player.close();
    for (const d of this.disks) d.view = null;
    await this.recorder?.close();
    await this.session.close();
  }
}
