// A disk's worker thread: runs the disk's InlineDataPath (backend, filters, NBD listener) and
// sends its request events to the owner in batches. Started by worker-data-path.ts: bundled by
// esbuild when Blockscope runs from source, by electron-vite in the app.

import { parentPort, workerData } from 'node:worker_threads';
import { forwardSendBuffers } from '../connection/send-buffer.ts';
import { EventBus } from '../events/event-bus.ts';
import type { DataPathState } from './data-path.ts';
import { EventBatcher, pastThisMicrosecond } from './event-wire.ts';
import { InlineDataPath } from './inline.ts';
import { toWire, type DiskWorkerData, type FromWorker, type ToWorker } from './worker-protocol.ts';

/** How often an error file's appearance (made by someone else) is noticed for DiskInfo. */
const STATE_POLL_MS = 250;

// Stack traces of the guard's logs then point into the TypeScript sources (the bundle carries its map).
process.setSourceMapsEnabled(true);

const port = parentPort!;
const data = workerData as DiskWorkerData;
const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

// Accepted Unix sockets' send buffers are raised by the main thread (connection/send-buffer.ts).
forwardSendBuffers((fd) => post({ t: 'send-buffer', fd }));

const bus = new EventBus();
const batcher = new EventBatcher(
  (b) => post({ t: 'events', buffer: b.buffer, count: b.count }, [b.buffer]),
  (performance.timeOrigin - data.ownerTimeOrigin) * 1000,
  data.unpacked,
);
bus.subscribe(batcher.listener);

let path: InlineDataPath;
let lastState = '';

/** Send the toggles and settings when they changed (events first: they happened before). */
function sendState(): DataPathState {
  const state = path.state();
  const text = JSON.stringify(state);
  if (text !== lastState) {
    lastState = text;
    batcher.flush();
    post({ t: 'state', state });
  }
  return state;
}

async function call(m: ToWorker): Promise<{ value?: unknown; transfer?: ArrayBuffer[] }> {
  const a = m.args;
  switch (m.method) {
    case 'setErrors':
      return { value: await path.setErrors(a[0] as boolean) };
    case 'setHold':
      return { value: await path.setHold(a[0] as boolean) };
    case 'configure':
      return { value: await path.configure(a[0] as string, a[1] as Record<string, string>) };
    case 'describeBackend':
      return { value: await path.describeBackend() };
    case 'read': {
      const buf = await path.read(a[0] as bigint, a[1] as number);
      // Buffer.alloc gives the read its own ArrayBuffer: hand it over instead of copying it.
      return { value: buf.buffer, transfer: [buf.buffer as ArrayBuffer] };
    }
    case 'barrier':
      // Everything emitted so far goes before the reply (see the message handler below).
      return { value: pastThisMicrosecond() + batcher.shiftUs };
    case 'reset':
      return { value: await path.reset() };
    case 'close':
      clearInterval(poll);
      return { value: await path.close() };
  }
}

port.on('message', (m: ToWorker) => {
  call(m).then(
    ({ value, transfer }) => {
      sendState();
      batcher.flush();
      post({ t: 'reply', id: m.id, value }, transfer);
    },
    (err: unknown) => {
      batcher.flush();
      post({ t: 'reply', id: m.id, error: toWire(err) });
    },
  );
});

let poll: ReturnType<typeof setInterval> | undefined;
try {
  path = await InlineDataPath.start(data.spec, bus);
  path.onUpstreamChange(() => sendState());
  lastState = JSON.stringify(path.state());
  post({
    t: 'ready',
    size: path.size,
    uris: [...path.uris],
    port: path.port,
    backendName: path.backendName,
    state: path.state(),
  });
  poll = setInterval(sendState, STATE_POLL_MS);
  poll.unref();
} catch (err) {
  post({ t: 'failed', error: toWire(err) });
}
