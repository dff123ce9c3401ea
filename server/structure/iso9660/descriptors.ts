// ISO 9660 volume descriptors (ECMA-119 8): the set starts at sector 16 (of 2048 bytes) and runs
// until the terminator (type 255). Each is 2048 bytes: type (byte 0), "CD001" (1–5), version (6).
// Primary (1) and supplementary (2; Joliet when its escape sequences at 88 say UCS-2) give a
// directory tree each: the root's directory record at 156, the logical block size at 128, the
// volume space size at 80, the path table size at 132 and its L (little-endian) and M
// (big-endian) locations at 140 and 148. A boot record (0) named "EL TORITO SPECIFICATION" has the
// boot catalog's block at 71.

export const SECTOR = 2048;
/** Sector of the first volume descriptor: sectors 0–15 are the system area. */
export const FIRST_DESCRIPTOR = 16;
/** A descriptor set longer than this is damage (real ones have 3 to 6). */
const MAX_DESCRIPTORS = 64;

export interface TreeDescriptor {
  /** "primary" or "Joliet" (a supplementary descriptor with UCS-2 escape sequences). */
  tree: 'primary' | 'Joliet' | 'supplementary';
  sector: number;
  volumeId: string;
  blockSize: number;
  /** Blocks of the volume space. */
  volumeBlocks: number;
  root: Buffer;
  pathTableBytes: number;
  pathTables: Array<{ which: string; block: number }>;
}

export interface Descriptor {
  sector: number;
  type: number;
  label: string;
  tree?: TreeDescriptor;
  /** El Torito boot record: the boot catalog's block. */
  bootCatalog?: number;
}

const MAGIC = Buffer.from('CD001', 'latin1');

export const isDescriptor = (buf: Buffer) => buf.length >= 7 && buf.subarray(1, 6).equals(MAGIC);

function treeDescriptor(buf: Buffer, sector: number, type: number, warn: (m: string) => void): TreeDescriptor {
  const escapes = buf.subarray(88, 91).toString('latin1');
  const joliet = type === 2 && ['%/@', '%/C', '%/E'].includes(escapes);
  const tree = type === 1 ? 'primary' : joliet ? 'Joliet' : 'supplementary';
  const idBytes = buf.subarray(40, 72);
  const volumeId = (joliet ? utf16be(idBytes) : idBytes.toString('latin1')).replace(/\0/g, '').trimEnd();
  let blockSize = buf.readUInt16LE(128);
  if (![512, 1024, 2048].includes(blockSize)) {
    warn(
      `the ${tree} volume descriptor (sector ${sector}) gives a logical block size of ${blockSize} bytes: 2048 is used`,
    );
    blockSize = SECTOR;
  }
  const pathTables: TreeDescriptor['pathTables'] = [];
  const l = buf.readUInt32LE(140);
  const lOpt = buf.readUInt32LE(144);
  const m = buf.readUInt32BE(148);
  const mOpt = buf.readUInt32BE(152);
  if (l) pathTables.push({ which: 'L', block: l });
  if (lOpt) pathTables.push({ which: 'L, optional', block: lOpt });
  if (m) pathTables.push({ which: 'M', block: m });
  if (mOpt) pathTables.push({ which: 'M, optional', block: mOpt });
  return {
    tree,
    sector,
    volumeId,
    blockSize,
    volumeBlocks: buf.readUInt32LE(80),
    root: Buffer.from(buf.subarray(156, 190)),
    pathTableBytes: buf.readUInt32LE(132),
    pathTables,
  };
}

export const utf16be = (b: Buffer) => {
  const even = Buffer.from(b.subarray(0, b.length & ~1));
  return even.swap16().toString('utf16le');
};

/** Parse one descriptor sector (already known to carry "CD001"). */
export function parseDescriptor(buf: Buffer, sector: number, warn: (m: string) => void): Descriptor {
  const type = buf[0];
  if (type === 255) return { sector, type, label: 'volume descriptor set terminator' };
  if (type === 0) {
    const system = buf.subarray(7, 39).toString('latin1').replace(/\0/g, '').trimEnd();
    if (system === 'EL TORITO SPECIFICATION')
      return { sector, type, label: 'boot record volume descriptor (El Torito)', bootCatalog: buf.readUInt32LE(71) };
    return { sector, type, label: `boot record volume descriptor${system ? ` ("${system}")` : ''}` };
  }
  if (type === 1 || type === 2) {
    const tree = treeDescriptor(buf, sector, type, warn);
    const what = type === 1 ? 'primary' : tree.tree === 'Joliet' ? 'supplementary (Joliet)' : 'supplementary';
    return { sector, type, label: `${what} volume descriptor "${tree.volumeId}"`, tree };
  }
  if (type === 3) return { sector, type, label: 'volume partition descriptor' };
  return { sector, type, label: `volume descriptor of unknown type ${type}` };
}

/**
 * The descriptor set from sector 16: every descriptor up to and including the terminator. A
 * sector without "CD001" before the terminator ends the set with a warning (the rest of the
 * volume can still be decoded from the descriptors found).
 */
export async function readDescriptors(
  read: (sector: number) => Promise<Buffer | null>,
  warn: (m: string) => void,
): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for (let s = FIRST_DESCRIPTOR; s < FIRST_DESCRIPTOR + MAX_DESCRIPTORS; s++) {
    const buf = await read(s);
    if (!buf) {
      warn(`the volume descriptor set ends at sector ${s} (past the image) without a terminator`);
      return out;
    }
    if (!isDescriptor(buf)) {
      if (out.length) warn(`sector ${s} is not a volume descriptor ("CD001" missing) and no terminator came before it`);
      return out;
    }
    const d = parseDescriptor(buf, s, warn);
    out.push(d);
    if (d.type === 255) return out;
  }
  warn(`more than ${MAX_DESCRIPTORS} volume descriptors without a terminator: the rest are not read`);
  return out;
}
