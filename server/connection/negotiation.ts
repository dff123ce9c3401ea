// The fixed newstyle handshake (NBD spec §Newstyle negotiation), as nbdkit's
// protocol-handshake-newstyle.c: greeting, client flags, then options until the client picks an
// export (NBD_OPT_GO / NBD_OPT_EXPORT_NAME) or leaves (NBD_OPT_ABORT). The handshake is a few
// round trips, so it is written with promises; the transmission phase (transmission-loop.ts)
// is not. Bounded: at most MAX_OPTIONS options, option data over MAX_OPTION_LENGTH is skipped
// unread (NBD_REP_ERR_TOO_BIG), MAX_HANDSHAKE_BYTES in all. TLS modes as the spec's NOTLS,
// SELECTIVETLS (--tls=on: every export available either way) and FORCEDTLS (--tls=require).

import type { ConnectionInfo, Next } from '../backends/backend.ts';
import type { FilterChain } from '../filters/filter.ts';
import {
  BASE_ALLOCATION_ID,
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  INFO,
  MAX_HANDSHAKE_BYTES,
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
import { matchMetaContexts } from '../protocol/meta-context.ts';
import type { ExportState } from '../protocol/transmission.ts';
import type { TlsMode } from './tls.ts';

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
  /** off, on or require; `info.tls` says whether TLS is up. */
  readonly tlsMode: TlsMode;
  /** False when structured replies are switched off (--no-sr). */
  readonly structuredReplies: boolean;
  /** Wait until n bytes are queued and take them; null once the connection is closed. */
  need(n: number): Promise<Buffer | null>;
  /** Discard n bytes as they arrive, never holding them; false once the connection is closed. */
  skip(n: number): Promise<boolean>;
  /** Upgrade the socket to TLS (after the ACK was sent); false if it failed (connection dropped). */
  startTls(): Promise<boolean>;
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
type Reply = (type: number, payload?: Buffer) => void;
type ErrorReply = (type: number, msg: string) => void;

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

    let bytes = 4;
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
      bytes += 16 + header.length;
      if (bytes > MAX_HANDSHAKE_BYTES) {
        h.drop(`handshake longer than ${MAX_HANDSHAKE_BYTES} bytes`);
        return null;
      }
      if (header.length > MAX_OPTION_LENGTH) {
        // NBD_OPT_EXPORT_NAME cannot be answered with an error: it ends the session.
        if (header.option === OPT.EXPORT_NAME) {
          h.drop(`export name of ${header.length} bytes`);
          return null;
        }
        if (!(await h.skip(header.length))) return null;
        const msg = `option data of ${header.length} bytes exceeds the ${MAX_OPTION_LENGTH}-byte limit`;
        h.send(encodeErrorReply(header.option, REP.ERR_TOO_BIG, msg));
        continue;
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
    // FUA only means something for writes: nbdkit does not advertise it on a read-only export.
    if (!ro && t.canFua() > 0) f |= TF.SEND_FUA;
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
    const reply: Reply = (type, payload) => this.host.send(encodeOptionReply(option, type, payload));
    const error: ErrorReply = (type, msg) => this.host.send(encodeErrorReply(option, type, msg));
    const h = this.host;
    if (h.tlsMode === 'require' && !h.info.tls && option !== OPT.STARTTLS && option !== OPT.ABORT) {
      // FORCEDTLS: everything but STARTTLS and ABORT is refused until TLS is up.
      if (option === OPT.EXPORT_NAME) {
        h.drop('NBD_OPT_EXPORT_NAME before STARTTLS (TLS is required)');
        return 'drop';
      }
      error(REP.ERR_TLS_REQD, 'TLS is required: send NBD_OPT_STARTTLS first');
      return 'next';
    }
    try {
      switch (option) {
        case OPT.EXPORT_NAME: {
          const name = data.toString('utf8');
          if (!this.knownExport(name)) {
            h.drop(`unknown export '${name}'`);
            return 'drop';
          }
          const s = await this.openExport();
          h.send(encodeExportNameReply(s.size, s.eflags, this.noZeroes));
          return 'go';
        }
        case OPT.ABORT:
          reply(REP.ACK);
          return 'abort';
        case OPT.LIST:
          if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_LIST takes no data');
          else {
            await h.chain.listExports(h.info);
            reply(REP.SERVER, encodeServerReplyData(h.exportName));
            reply(REP.ACK);
          }
          return 'next';
        case OPT.STARTTLS:
          return await this.startTls(data, reply, error);
        case OPT.INFO:
        case OPT.GO:
          return await this.infoOrGo(option, data, reply, error); // await: its parse errors are caught below
        case OPT.STRUCTURED_REPLY:
          if (!h.structuredReplies) error(REP.ERR_UNSUP, 'structured replies are switched off (--no-sr)');
          else if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
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

  private async startTls(data: Buffer, reply: Reply, error: ErrorReply): Promise<OptionOutcome> {
    const h = this.host;
    if (h.tlsMode === 'off') error(REP.ERR_POLICY, 'TLS is not enabled on this server (serve --tls=on|require)');
    else if (data.length) error(REP.ERR_INVALID, 'NBD_OPT_STARTTLS takes no data');
    else if (h.info.tls) error(REP.ERR_INVALID, 'TLS is already active');
    else {
      reply(REP.ACK);
      if (!(await h.startTls())) return 'drop';
      // The spec: nothing negotiated before STARTTLS survives it (CVE-2021-3716 in nbdkit).
      this.structured = false;
      this.metaContext = false;
      this.state = null;
    }
    return 'next';
  }

  private async infoOrGo(option: number, data: Buffer, reply: Reply, error: ErrorReply): Promise<OptionOutcome> {
    const { name, requests } = parseInfoRequest(data);
    if (!this.knownExport(name)) {
      error(REP.ERR_UNKNOWN, `unknown export '${name}'`);
      return 'next';
    }
    const s = await this.openExport();
    reply(REP.INFO, encodeInfoExport(s.size, s.eflags));
    // Each item once, however often it is asked for: one 131 KiB option asking 65,535 times
    // for the description got 65,535 answers, and 31 such options from a client that never read
    // them held 650 MB per connection until the process ran out of heap (an outsider's attack).
    // Once each, the whole handshake (at most MAX_OPTIONS options) sends a few hundred KiB.
    for (const r of new Set(requests)) {
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

  private metaContexts(option: number, data: Buffer, reply: Reply, error: ErrorReply): OptionOutcome {
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
    if (this.top.canExtents()) {
      for (const context of matchMetaContexts(queries, !set)) {
        reply(REP.META_CONTEXT, encodeMetaContextData(set ? BASE_ALLOCATION_ID : 0, context));
        if (set) this.metaContext = true;
      }
    }
    reply(REP.ACK);
    return 'next';
  }
}
