// STUB: per-disk counters, exact block states and grid cells. Replaced by the events work.
import type { EventBus } from './event-bus.ts';
import type { DiskInfo } from '../shared/types.ts';

export type DiskStatsSnapshot = Pick<DiskInfo, 'counters' | 'inFlight' | 'blocks' | 'errorBlocks' | 'latencyUs' | 'grid'>;

export class DiskStats {
  constructor(
    readonly diskNumber: number,
    readonly size: bigint,
    bus: EventBus,
  ) {
    void bus;
  }
  snapshot(): DiskStatsSnapshot {
    throw new Error('DiskStats: not implemented yet');
  }
  clear(): void {}
}
