// The fixed newstyle handshake (NBD spec §Newstyle negotiation), as nbdkit's
// protocol-handshake-newstyle.c: greeting, client flags, then options until the client picks an
// export (NBD_OPT_GO / NBD_OPT_EXPORT_NAME) or leaves (NBD_OPT_ABORT). The handshake is a few
// round trips, so it is written with promises; the transmission phase (transmission-loop.ts)
// is not.

import type { ConnectionInfo, Next } from '../backends/backend.ts';
import type { FilterChain } from '../filters/filter.ts';
import {
  BASE_ALLOCATION,
  BASE_ALLOCATION_ID,
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  INFO,
  MAX_OPTION_LENGTH,
  MAX_OPTIONS,
  MAX_REQUEST_SIZE,
  OPT,
  REP,
  TF,
} from '../protocol/constants.ts';
import {
  OptionParseError,
  encodeErrorReply,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeMetaContextData,
  encodeOptionReply,
  encodeServerReplyData,
  parseInfoRequest,
  parseMetaContextRequest,
  parseOptionHeader,
} from '../protocol/handshake.ts';
import type { ExportState } from '../protocol/transmission.ts';

/** Advertised block sizes: byte-granular, 4 KiB preferred, the request-size limit as maximum. */
const BLOCK_MIN = 1;
const BLOCK_PREF = 4096;
const BLOCK_MAX = MAX_REQUEST_SIZE;

/** What the connection lends the handshake: its socket I/O and the disk's stack. */
export interface NegotiationHost {
  readonly info: ConnectionInfo;
  readonly chain: FilterChain;
  readonly exportName: string;
  readonly description: string;
  readonly readonly: boolean;
  /** Wait until n bytes are queued and take them; null once the connection is closed. */
  need(n: number): Promise<Buffer | null>;
  send(b: Buffer): void;
  /** Hard disconnect with a reason in the server log. */
  drop(why: string): void;
  /** Polite close after NBD_OPT_ABORT. */
  end(): void;
  /** Open the export for this client (filters' prepare hooks), once per connection. */
  prepareExport(): Promise<void>;
}

/** The outcome of a successful handshake: what the transmission phase needs. */
export interface Negotiated {
  structured: boolean;
  metaContext: boolean;
  state: ExportState;
}

type OptionOutcome = 'next' | 'go' | 'abort' | 'drop';

/** Run the handshake; null when the client left or was dropped before transmission. */
export async function negotiate(host: NegotiationHost): Promise<Negotiated | null> {
  return new Negotiation(host).run();
}

class Negotiation {
  private readonly top: Next;
  private noZeroes = false;
  private structured = false;
  private metaContext = false;
  private state: ExportState | null = null;

  constructor(private readonly host: NegotiationHost) {
    this.top = host.chain.top;
  }

  async run(): Promise<Negotiated | null> {
    const h = this.host;
    h.send(encodeGreeting());
    const cf = await h.need(4);
    if (!cf) return null;
    const clientFlags = cf.readUInt32BE(0);
    if (clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) {
      h.drop(`unknown client flags 0x${clientFlags.toString(16)}`);
      return null;
    }
    this.noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;

    for (let count = 0; ; count++) {
      if (count >= MAX_OPTIONS) {
        h.drop(`too many options (more than ${MAX_OPTIONS})`);
        return null;
      }
      const hb = await h.need(16);
      if (!hb) return null;
      const header = parseOptionHeader(hb);
      if (!header) {
        h.drop('bad option magic');
        return null;
      }
      if (header.length > MAX_OPTION_LENGTH) {
        h.drop(`option ${header.option} too long (${header.length} bytes)`);
        return null;
      }
      const data = await h.need(header.length);
      if (!data) return null;
      const outcome = await this.handleOption(header.option, data);
      if (outcome === 'abort') {
        h.end();
        return null;
      }
      if (outcome === 'drop') return null;
      if (outcome === 'go') break;
    }
    return { structured: this.structured, metaContext: this.metaContext, state: this.state! };
  }

  private transmissionFlags(): number {
    const t = this.top;
    let f = TF.HAS_FLAGS;
    const ro = this.host.readonly || !t.canWrite();
    if (ro) f |= TF.READ_ONLY;
    if (t.canFlush()) f |= TF.SEND_FLUSH;
    if (t.canFua() > 0) f |= TF.SEND_FUA;
    if (t.isRotational()) f |= TF.ROTATIONAL;
    if (!ro && t.canTrim()) f |= TF.SEND_TRIM;
    if (!ro && t.canZero() > 0) {
      f |= TF.SEND_WRITE_ZEROES;
      if (t.canFastZero()) f |= TF.SEND_FAST_ZERO;
    }
    if (this.structured) f |= TF.SEND_DF;
    if (t.canMultiConn()) f |= TF.CAN_MULTI_CONN;
    if (t.canCache() > 0) f |= TF.SEND_CACHE;
    return f;
  }

  private knownExport(name: string): boolean {
    // The default export ("") always names this disk's single export.
    return name === this.host.exportName || name === '';
  }

  /** As in nbdkit the export is opened at the first INFO or GO (or EXPORT_NAME). */
  private async openExport(): Promise<ExportState> {
    await this.host.prepareExport();
    this.state = {
      size: this.top.getSize(),
      eflags: this.transmissionFlags(),
      structuredReplies: this.structured,
      metaContext: this.metaContext,
    };
    return this.state;
  }

  private async handleOption(option: number, data: Buffer): Promise<OptionOutcome> {
    const reply = (type: number, payload?: Buffer) => this.host.send(encodeOptionReply(option, type, payload));
    const error = (type: number, msg: string) => this.host.send(encodeErrorReply(option, type, msg));
    try {
      switch (option) {
        case OPT.EXPORT_NAME: {
          const name = data.toString('utf8');
          if (!this.knownExport(name)) {
            this.host.drop(`unknown export '${name}'`);
            return 'drop';
          }
          const s = await this.openExport();
          this.host.send(encodeExportNameReply(s.size, s.eflags, this.noZeroes));
          return 'go';
        }
        case OPT.ABORT:
          reply(REP.ACK);
          return 'abort';
        case OPT.LIST:
          if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_LIST takes no data');
          else {
            await this.host.chain.listExports(this.host.info);
            reply(REP.SERVER, encodeServerReplyData(this.host.exportName));
            reply(REP.ACK);
          }
          return 'next';
        case OPT.STARTTLS:
          error(REP.ERR_POLICY, 'TLS is not supported by this server');
          return 'next';
        case OPT.INFO:
        case OPT.GO:
          return await this.infoOrGo(option, data, reply, error); // await: its parse errors are caught below
        case OPT.STRUCTURED_REPLY:
          if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
          else {
            this.structured = true;
            reply(REP.ACK);
          }
          return 'next';
        case OPT.LIST_META_CONTEXT:
        case OPT.SET_META_CONTEXT:
          return this.metaContexts(option, data, reply, error);
        default:
          error(REP.ERR_UNSUP, `option ${option} is not supported`);
          return 'next';
      }
    } catch (err) {
      if (err instanceof OptionParseError) {
        error(REP.ERR_INVALID, err.message);
        return 'next';
      }
      throw err;
    }
  }

  private async infoOrGo(
    option: number,
    data: Buffer,
    reply: (type: number, payload?: Buffer) => void,
    error: (type: number, msg: string) => void,
  ): Promise<OptionOutcome> {
    const { name, requests } = parseInfoRequest(data);
    if (!this.knownExport(name)) {
      error(REP.ERR_UNKNOWN, `unknown export '${name}'`);
      return 'next';
    }
    const s = await this.openExport();
    reply(REP.INFO, encodeInfoExport(s.size, s.eflags));
    for (const r of requests) {
      if (r === INFO.NAME) reply(REP.INFO, encodeInfoString(INFO.NAME, this.host.exportName));
      else if (r === INFO.DESCRIPTION) reply(REP.INFO, encodeInfoString(INFO.DESCRIPTION, this.host.description));
      else if (r === INFO.BLOCK_SIZE) {
        const bs = this.top.blockSize();
        reply(
          REP.INFO,
          encodeInfoBlockSize(bs?.minimum ?? BLOCK_MIN, bs?.preferred ?? BLOCK_PREF, bs?.maximum ?? BLOCK_MAX),
        );
      }
    }
    reply(REP.ACK);
    if (option === OPT.GO) return 'go';
    this.state = null;
    return 'next';
  }

  private metaContexts(
    option: number,
    data: Buffer,
    reply: (type: number, payload?: Buffer) => void,
    error: (type: number, msg: string) => void,
  ): OptionOutcome {
    const set = option === OPT.SET_META_CONTEXT;
    if (set && !this.structured) {
      error(REP.ERR_INVALID, 'structured replies must be negotiated first');
      return 'next';
    }
    const { name, queries } = parseMetaContextRequest(data);
    if (set) this.metaContext = false;
    if (!this.knownExport(name)) {
      error(REP.ERR_UNKNOWN, `unknown export '${name}'`);
      return 'next';
    }
    const match = (!set && queries.length === 0) || queries.some((q) => q === BASE_ALLOCATION || q === 'base:');
    if (match && this.top.canExtents()) {
      reply(REP.META_CONTEXT, encodeMetaContextData(set ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION));
      if (set) this.metaContext = true;
    }
    reply(REP.ACK);
    return 'next';
  }
}
