// STUB: the NBD listener (TCP and/or Unix socket) for one disk. Replaced by the engine-core work.
import type { EventBus } from './events/event-bus.ts';
import type { FilterChain } from './filters/filter.ts';

export interface NbdServerOptions {
  diskNumber: number;
  chain: FilterChain;
  bus: EventBus;
  exportName: string;
  readonly: boolean;
  tcp?: { host: string; port: number };
  unixSocket?: string;
}

export class NbdServer {
  /** One NBD URI per listening endpoint (nbd://127.0.0.1:10809 and/or nbd+unix:///?socket=...). */
  uris: string[] = [];
  constructor(readonly options: NbdServerOptions) {}
  async listen(): Promise<void> {
    throw new Error('NbdServer: not implemented yet');
  }
  async close(): Promise<void> {}
}
