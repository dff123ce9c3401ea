// Replies of the transmission phase, written to the client's socket; the replies of one tick are
// corked together. Read data is written as its own buffers after its header (never concatenated:
// a pooled buffer, or the memory backend's pages themselves) and is released (back to the pool,
// or the pages handed back) once the socket has handed it to the kernel; that moment is reported,
// because a client that does not read its replies must stop us reading its requests
// (transmission-loop.ts counts unsent bytes).

import type { Socket } from 'node:net';
import type { Extent, LentData } from '../backends/backend.ts';
import { BASE_ALLOCATION_ID, CMD } from '../protocol/constants.ts';
import {
  encodeBlockStatus,
  encodeOffsetDataHeader,
  encodeSimpleReply,
  encodeStructuredError,
  wireError,
  type RequestHeader,
} from '../protocol/transmission.ts';
import { CMD_FLAG, type Errno } from '../shared/types.ts';

/** A read's data, an extents list, or nothing. */
export type Result = LentData | Extent[] | null;

export class ReplyWriter {
  constructor(
    private readonly socket: Socket,
    private readonly structured: boolean,
    /** Called (once per read reply) when its data has left our memory, or (failed) the socket is gone. */
    private readonly onDataFlushed: (bytes: number, failed: boolean) => void,
  ) {}

  /** Replies written in the same tick go out in one writev (many requests complete together at QD > 1). */
  private corked = false;

  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  error(h: RequestHeader, errno: Errno, message: string): void {
    this.batch();
    const code = wireError(errno, h.flags);
    if (this.structured) this.socket.write(encodeStructuredError(h, code, message || errno));
    else this.socket.write(encodeSimpleReply(code, h));
  }

  ok(h: RequestHeader, result: Result): void {
    const s = this.socket;
    this.batch();
    if (h.type === CMD.READ) {
      const data = result as LentData;
      const { buffers } = data;
      s.write(this.structured ? encodeOffsetDataHeader(h, h.length) : encodeSimpleReply(0, h));
      const last = buffers.length - 1;
      for (let i = 0; i < last; i++) s.write(buffers[i]);
      // Writes complete in order: the last one's callback runs when all the data is flushed, or
      // with an error when the socket is destroyed.
      s.write(buffers[last], (err) => {
        data.release();
        this.onDataFlushed(h.length, err != null);
      });
      return;
    }
    if (h.type === CMD.BLOCK_STATUS) {
      s.write(encodeBlockStatus(h, BASE_ALLOCATION_ID, result as Extent[], (h.flags & CMD_FLAG.REQ_ONE) !== 0));
      return;
    }
    // A simple reply is allowed for replies without payload even when structured replies are on.
    s.write(encodeSimpleReply(0, h));
  }
}
