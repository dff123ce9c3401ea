// A minimal WebM (Matroska) writer for one VP8 video track, fed encoded frames as they come
// out of the encoder and handing bytes on as soon as a cluster is complete: memory holds one
// cluster (from one keyframe to the next, a couple of seconds of video), whatever the length.
// The segment's size is left "unknown" (allowed by Matroska, as live streams do): the file is
// written front to back, never patched. The duration is known up front (frames / fps).
// Element IDs: https://www.matroska.org/technical/elements.html

/** Matroska element IDs used here (already in their encoded form). */
const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  DefaultDuration: 0x23e383,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** Block timecodes are relative to their cluster's, as a signed 16-bit count of ms. */
const MAX_CLUSTER_MS = 30_000;

const idBytes = (id: number): number[] => {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return out;
};

/** An element's data size as an EBML variable-length integer (shortest form). */
function sizeBytes(n: number): number[] {
  for (let len = 1; len <= 8; len++) {
    // All ones is reserved (unknown size) at every length.
    if (n < 2 ** (7 * len) - 1) {
      const out = new Array<number>(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        out[i] = v % 256;
        v = Math.floor(v / 256);
      }
      out[0] |= 0x80 >> (len - 1);
      return out;
    }
  }
  throw new Error(`EBML size too large: ${n}`);
}

function uintBytes(n: number): number[] {
  const out: number[] = [];
  for (let v = n; v > 0 || out.length === 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out;
}

const el = (id: number, data: ArrayLike<number>): Uint8Array => {
  const head = [...idBytes(id), ...sizeBytes(data.length)];
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
};

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const uint = (id: number, n: number) => el(id, uintBytes(n));
const text = (id: number, s: string) => el(id, new TextEncoder().encode(s));
const master = (id: number, children: Uint8Array[]) => el(id, concat(children));
function float64(id: number, x: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x);
  return el(id, b);
}

export interface WebmTrack {
  width: number;
  height: number;
  fps: number;
  /** Frames the video will have (its duration is frames / fps). */
  frames: number;
}

/** Writes a WebM front to back through `write` (awaited: the caller's backpressure). */
export class WebmMuxer {
  private cluster: Uint8Array[] = [];
  private clusterMs = -1;

  constructor(
    track: WebmTrack,
    private readonly write: (bytes: Uint8Array) => Promise<void> | void,
  ) {
    this.head = concat([
      master(ID.EBML, [
        uint(ID.EBMLVersion, 1),
        uint(ID.EBMLReadVersion, 1),
        uint(ID.EBMLMaxIDLength, 4),
        uint(ID.EBMLMaxSizeLength, 8),
        text(ID.DocType, 'webm'),
        uint(ID.DocTypeVersion, 2),
        uint(ID.DocTypeReadVersion, 2),
      ]),
      // Segment of unknown size: 0x01 then seven 0xff.
      new Uint8Array([...idBytes(ID.Segment), 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      master(ID.Info, [
        uint(ID.TimecodeScale, 1_000_000), // ms
        float64(ID.Duration, (track.frames * 1000) / track.fps),
        text(ID.MuxingApp, 'Blockscope'),
        text(ID.WritingApp, 'Blockscope'),
      ]),
      master(ID.Tracks, [
        master(ID.TrackEntry, [
          uint(ID.TrackNumber, 1),
          uint(ID.TrackUID, 1),
          uint(ID.TrackType, 1), // video
          uint(ID.FlagLacing, 0),
          text(ID.CodecID, 'V_VP8'),
          uint(ID.DefaultDuration, Math.round(1e9 / track.fps)),
          master(ID.Video, [uint(ID.PixelWidth, track.width), uint(ID.PixelHeight, track.height)]),
        ]),
      ]),
    ]);
  }

  private head: Uint8Array | null;

  /** One encoded frame at `timestampUs`; a keyframe starts a new cluster (the last one is written). */
  async frame(data: Uint8Array, timestampUs: number, key: boolean): Promise<void> {
    const ms = Math.round(timestampUs / 1000);
    if (this.clusterMs < 0 && !key) throw new Error('a WebM must start with a keyframe');
    if (key || ms - this.clusterMs > MAX_CLUSTER_MS) await this.flushCluster(ms);
    const rel = ms - this.clusterMs;
    const block = new Uint8Array(4 + data.length);
    block[0] = 0x81; // track 1
    block[1] = (rel >> 8) & 0xff;
    block[2] = rel & 0xff;
    block[3] = key ? 0x80 : 0;
    block.set(data, 4);
    this.cluster.push(el(ID.SimpleBlock, block));
  }

  /** Write what is left. */
  async finish(): Promise<void> {
    await this.flushCluster(-1);
  }

  private async flushCluster(nextMs: number): Promise<void> {
    const parts: Uint8Array[] = [];
    if (this.head) parts.push(this.head);
    this.head = null;
    if (this.cluster.length) parts.push(master(ID.Cluster, [uint(ID.Timecode, this.clusterMs), ...this.cluster]));
    this.cluster = [];
    this.clusterMs = nextMs;
    if (parts.length) await this.write(concat(parts));
  }
}
