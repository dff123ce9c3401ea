// One NTFS volume being decoded: reading clusters safely (a run pointing outside the volume is
// a warning, never a read past the space), the MFT read record by record through its own data
// runs with fixups applied, each file's attributes gathered from its base and extension records,
// and paths built from the $FILE_NAME parent references.

import type { DecodeContext, Place } from '../context.ts';
import type { Region } from '../model.ts';
import type { ByteSource } from '../source.ts';
import type { NtfsBoot } from './boot.ts';
import type { Claim } from './cross-links.ts';
import {
  ATTR,
  applyFixups,
  bestName,
  parseFileName,
  parseMftRecord,
  type Attribute,
  type FileName,
  type Run,
} from './records.ts';

export interface NtfsFile {
  record: number;
  directory: boolean;
  names: FileName[];
  /** Attributes of the base record and of every extension record pointing to it. */
  attributes: Attribute[];
}

export interface Ntfs {
  src: ByteSource;
  boot: NtfsBoot;
  ctx: DecodeContext;
  place: Place;
  /** Base records in use, by record number. */
  files: Map<number, NtfsFile>;
  /** Where each MFT record is, for labelling: the MFT's runs in VCN order, and its length. */
  mftRuns: Run[];
  mftDataSize: bigint;
  /** Extension records in use, and the base record each extends. */
  extensionOf: Map<number, number>;
  /** Records whose fixups did not match. */
  refused: Set<number>;
  regions: Region[];
  /** Runs labelled so far: a budget against run lists that multiply regions. */
  runsLabelled: number;
  /** The clusters of every labelled run and whose they are: two claims of one cluster are a cross-link. */
  claims: Claim[];
  paths: Map<number, string>;
}

export const newVolume = (src: ByteSource, boot: NtfsBoot, ctx: DecodeContext, place: Place): Ntfs => ({
  src,
  boot,
  ctx,
  place,
  files: new Map(),
  mftRuns: [],
  mftDataSize: 0n,
  extensionOf: new Map(),
  refused: new Set(),
  regions: [],
  runsLabelled: 0,
  claims: [],
  paths: new Map(),
});

export const warn = (x: Ntfs, message: string) => x.ctx.budget.warn(`${x.place.where}: ${message}`);
export const lcnByte = (x: Ntfs, lcn: bigint) => lcn * BigInt(x.boot.clusterBytes);

/** The root directory's record, parent of itself. */
export const ROOT = 5;
/** Most records one read of the MFT brings in. */
const MFT_CHUNK = 256 * 1024;
/** Deepest path followed: a parent chain longer than this is a loop or damage. */
const MAX_DEPTH = 256;

/**
 * The runs of `runs` that lie inside the volume; each one that does not is a warning naming
 * `what` and is dropped (its clusters are not read, not labelled).
 */
export function runsInside(x: Ntfs, what: string, runs: Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    if (r.lcn !== null && (r.lcn < 0n || r.lcn + r.count > x.boot.clusterCount)) {
      warn(x, `${what}: run of ${r.count} clusters at LCN ${r.lcn} lies outside the volume`);
      continue;
    }
    out.push(r);
  }
  return out;
}

/** Bytes [from, from+length) of a stream laid out in `runs`; sparse or missing parts read as zeros. */
export async function readStream(x: Ntfs, runs: Run[], from: bigint, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  const cb = BigInt(x.boot.clusterBytes);
  const to = from + BigInt(length);
  for (const r of runs) {
    const a = r.vcn * cb > from ? r.vcn * cb : from;
    const b = (r.vcn + r.count) * cb < to ? (r.vcn + r.count) * cb : to;
    if (a >= b || r.lcn === null) continue;
    const bytes = await x.src.read(lcnByte(x, r.lcn) + (a - r.vcn * cb), Number(b - a));
    bytes.copy(out, Number(a - from));
  }
  return out;
}

/** The runs of every segment of one non-resident stream, in VCN order. */
export function streamRuns(segments: Attribute[]): Run[] {
  return segments
    .slice()
    .sort((a, b) => (a.startVcn < b.startVcn ? -1 : a.startVcn > b.startVcn ? 1 : 0))
    .flatMap((s) => s.runs ?? []);
}

/** The unnamed $DATA of record 0: where the MFT itself is. */
export function mftDataOf(rec: Buffer): { runs: Run[]; dataSize: bigint; attributeList: boolean } | string {
  const fix = applyFixups(rec, 'FILE');
  if (fix) return fix;
  const parsed = parseMftRecord(rec);
  const data = parsed.attributes.find((a) => a.type === ATTR.data && !a.name && a.runs && a.startVcn === 0n);
  if (!data) return parsed.problem || 'no $DATA attribute';
  return {
    runs: data.runs!,
    dataSize: data.dataSize,
    attributeList: parsed.attributes.some((a) => a.type === ATTR.attributeList),
  };
}

/** Read every MFT record (up to the budget) and gather each file's attributes. */
export async function readMft(x: Ntfs, dataSize: bigint): Promise<void> {
  const R = x.boot.mftRecordBytes;
  // No more records than the MFT's runs reach (a damaged DataSize would read past them).
  const last = x.mftRuns[x.mftRuns.length - 1];
  const reach = last ? ((last.vcn + last.count) * BigInt(x.boot.clusterBytes)) / BigInt(R) : 0n;
  const stated = dataSize / BigInt(R) < reach ? dataSize / BigInt(R) : reach;
  let count = stated > BigInt(x.ctx.budget.maxFiles) ? x.ctx.budget.maxFiles + 1 : Number(stated);
  if (count > x.ctx.budget.maxFiles) {
    x.ctx.budget.truncated = true;
    warn(x, `more than ${x.ctx.budget.maxFiles} MFT records; the rest are not read`);
    count = x.ctx.budget.maxFiles;
  }
  const extensions: Array<[number, Kept]> = [];
  let refused = 0;
  const perChunk = Math.max(1, Math.floor(MFT_CHUNK / R));
  for (let first = 0; first < count; first += perChunk) {
    const n = Math.min(perChunk, count - first);
    const chunk = await readStream(x, x.mftRuns, BigInt(first) * BigInt(R), n * R);
    for (let i = 0; i < n; i++) {
      const number = first + i;
      const rec = chunk.subarray(i * R, (i + 1) * R);
      // Never-used records are zeros (no signature): nothing to say about them.
      if (rec.readUInt32LE(0) === 0) continue;
      const fix = applyFixups(rec, 'FILE');
      if (fix) {
        x.refused.add(number);
        if (++refused <= 10) warn(x, `MFT record ${number}: ${fix}; skipped`);
        continue;
      }
      const parsed = parseMftRecord(rec);
      if (!parsed.inUse) continue;
      if (parsed.problem) warn(x, `MFT record ${number}: ${parsed.problem}; the attributes after it are not read`);
      const kept = keep(parsed.attributes);
      if (parsed.base !== 0 && parsed.base !== number) {
        x.extensionOf.set(number, parsed.base);
        extensions.push([parsed.base, kept]);
        continue;
      }
      x.files.set(number, { record: number, directory: parsed.directory, ...kept });
    }
    await x.ctx.budget.breathe();
  }
  if (refused > 10) warn(x, `${refused} MFT records in all were refused`);
  for (const [base, kept] of extensions) {
    const file = x.files.get(base);
    if (!file) {
      warn(x, `an extension record points to base record ${base}, which is not in use`);
      continue;
    }
    file.attributes.push(...kept.attributes);
    file.names.push(...kept.names);
  }
}

type Kept = Pick<NtfsFile, 'names' | 'attributes'>;
/** Resident values kept after the MFT is read: a directory's index bitmap, the volume name. */
const VALUES_KEPT: ReadonlySet<number> = new Set([ATTR.bitmap, ATTR.volumeName]);

/**
 * What a record's attributes are needed for later: names parsed now, and only the few resident
 * values still to be read copied out (the rest would keep every MFT chunk read alive).
 */
function keep(attributes: Attribute[]): Kept {
  const names = attributes
    .filter((a) => a.type === ATTR.fileName && a.value)
    .map((a) => parseFileName(a.value!))
    .filter((n): n is FileName => n !== null);
  const kept = attributes.map((a) =>
    a.value ? { ...a, value: VALUES_KEPT.has(a.type) ? Buffer.from(a.value) : undefined } : a,
  );
  return { names, attributes: kept };
}

/** "/docs/a.bin" for a file record; parents that are missing or loop are named, with a warning. */
export function pathOf(x: Ntfs, record: number): string {
  const known = x.paths.get(record);
  if (known !== undefined) return known;
  const chain: Array<[number, string]> = [];
  const seen = new Set<number>();
  let at = record;
  let prefix = '';
  for (;;) {
    if (at === ROOT) break;
    const cached = x.paths.get(at);
    if (cached !== undefined) {
      prefix = cached === '/' ? '' : cached;
      break;
    }
    if (seen.has(at) || chain.length >= MAX_DEPTH) {
      warn(x, `MFT record ${record}: its parent references loop (at record ${at})`);
      prefix = `/<loop at record ${at}>`;
      break;
    }
    seen.add(at);
    const file = x.files.get(at);
    const name = file && bestName(file.names);
    if (!name) {
      prefix = `/<record ${at}>`;
      if (at !== record) warn(x, `MFT record ${record}: parent record ${at} is not in use or has no name`);
      break;
    }
    chain.push([at, name.name]);
    at = name.parent;
  }
  let path = prefix;
  for (let i = chain.length - 1; i >= 0; i--) {
    path += `/${chain[i][1]}`;
    x.paths.set(chain[i][0], path);
  }
  if (record === ROOT) x.paths.set(ROOT, '/');
  return x.paths.get(record) ?? (path || '/');
}
