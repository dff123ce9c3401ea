// What the structure decoders say about a disk's blocks, as the API, the CLI and the UI see it.
// Offsets are decimal strings (disks reach 2^63-1 bytes); block numbers are 4 KiB grid blocks
// (exact as numbers: at most 2^51 of them).

/**
 * What a range of bytes is, coarsely: the overlay tints by kind and the legend names kinds.
 * Order matters: it is the priority when several kinds share one grid cell (later wins).
 */
export const REGION_KINDS = [
  'container', // a partition, array or volume whose content was not recognised
  'free', // free space of a filesystem
  'reserved', // allocated but unused: md headroom, GPT gap, reserved GDT blocks
  'file', // file data
  'directory',
  'file-map', // extent-tree index blocks, indirect blocks, xattr blocks
  'journal',
  'inode-table',
  'bitmap',
  'fat', // FAT allocation tables
  'group-descriptors',
  'volume-metadata', // LVM label and metadata area
  'md-superblock', // md superblock, write-intent bitmap, bad-block log
  'superblock', // filesystem superblocks (and backups), FAT boot sectors
  'parity',
  'partition-table',
] as const;
export type RegionKind = (typeof REGION_KINDS)[number];

/** Words the legend and the activity line use for each kind. */
export const REGION_KIND_NAMES: Record<RegionKind, string> = {
  container: 'unrecognised content',
  free: 'free space',
  reserved: 'reserved',
  file: 'file data',
  directory: 'directories',
  'file-map': 'extent/indirect blocks',
  journal: 'journal',
  'inode-table': 'inode tables',
  bitmap: 'bitmaps',
  fat: 'FAT',
  'group-descriptors': 'group descriptors',
  'volume-metadata': 'LVM metadata',
  'md-superblock': 'md superblock',
  superblock: 'superblocks',
  parity: 'parity',
  'partition-table': 'partition table',
};

/** One link of a block's chain, outermost first: `GPT partition 1 "p1"` › `ext4` › `group 3` › `inode table`. */
export interface ChainLink {
  label: string;
  /** The object (file, structure, stripe) this link belongs to: a key into StructureMap.objects. */
  object?: string;
  /**
   * Other objects this link belongs to as much as to `object`: the other files of blocks that
   * several files share (XFS reflink). Picking any of them highlights these blocks.
   */
  sharedWith?: string[];
}

/** True if `link` belongs to object `id`, as its own object or one it is shared with. */
export const linkBelongsTo = (link: ChainLink, id: string) =>
  link.object === id || (link.sharedWith?.includes(id) ?? false);

/** A labelled byte range of one disk: the leaves of the decoded tree. */
export interface StructureRange {
  /** Decimal byte offsets, end exclusive. */
  start: string;
  end: string;
  kind: RegionKind;
  chain: ChainLink[];
}

/** Something a person can pick in the panel: a file, "inode tables of ext4 on md0", a partition. */
export interface StructureObject {
  id: string;
  kind: RegionKind | 'partition' | 'filesystem' | 'array' | 'volume';
  /** "/etc/passwd", "inode tables", "md0 (RAID 5, 4 members)". */
  label: string;
  /** Where it lives: "ext4 on GPT partition 1 of disk 1". */
  where: string;
  /** Bytes it covers (decimal), summed over all disks. */
  bytes: string;
  /** The disks holding its bytes, in order ([1] for a file on disk 1; every member for one on md0). */
  disks: number[];
}

export interface StructureStatus {
  /** Increases whenever any decoded answer changed. */
  version: number;
  /** True while writes hit decoded metadata and a re-decode is pending or running. */
  stale: boolean;
  /** Milliseconds the last decode took. */
  lastDecodeMs: number;
  /** Decodes run since the engine started (each one after writes that touched decoded metadata). */
  decodes: number;
  /** Budget exhausted (too many files or bytes): some regions are summarised. */
  truncated: boolean;
  /** Problems met while decoding (bad checksums, unreadable members), in words. */
  warnings: string[];
}

/** `GET /api/disks/:n/map`. */
export interface DiskMap {
  disk: number;
  status: StructureStatus;
  ranges: StructureRange[];
  /** More ranges existed than the request's limit allowed. */
  truncated: boolean;
}

/** `GET /api/disks/:n/blocks/:block`: what one 4 KiB grid block holds (it may hold several things). */
export interface BlockChain {
  disk: number;
  block: number;
  /** Decimal byte range of the block. */
  byteStart: string;
  byteEnd: string;
  /** Every labelled piece of the block, each with its full chain (exact offsets in labels). */
  parts: Array<{ start: string; end: string; kind: RegionKind; chain: ChainLink[] }>;
  status: StructureStatus;
}

/** Per-cell kinds for the overlay: one byte per grid cell, an index into REGION_KINDS, 255 = nothing known. */
export interface StructureOverlay {
  disk: number;
  version: number;
  /** Base64 of a Uint8Array with one entry per cell. */
  cells: string;
  /** Kinds present on this disk, for the legend. */
  kinds: RegionKind[];
}

/** Blocks to highlight when an object is picked: per disk, [first, end) block runs. */
export interface ObjectBlocks {
  object: StructureObject;
  disks: Array<{ disk: number; runs: Array<[number, number]>; parityRuns: Array<[number, number]> }>;
}

/** The recent-activity line: what the last requests touched, in words, per operation. */
export interface StructureActivity {
  /** e.g. { write: [["journal", 12], ["inode table, group 0", 3]] } — most touched first. */
  ops: Partial<Record<'read' | 'write' | 'trim' | 'zero', Array<[string, number]>>>;
  /** "writes: journal (12), inode table group 0 (3), /var/log/messages (4)". */
  text: string;
}

/** An md array assembled from the engine's disks, and how far each member's chunks are written. */
export interface ArrayStatus {
  id: string;
  /** "md0". */
  name: string;
  /** "RAID 5, left-symmetric, 512 KiB chunks". */
  description: string;
  /** Chunk rows per member: stripes, for RAID 4/5/6. */
  stripes: number;
  /** Roles no device holds in md's own view (failed or removed): the array runs degraded. */
  missing: number[];
  /** Roles md gives to a device whose superblock is on none of Blockscope's disks. */
  notFound: number[];
  members: Array<{
    /** Blockscope disk holding the member (null: a member outside this engine). */
    disk: number | null;
    role: number | 'spare' | 'faulty' | 'journal';
    state: 'active' | 'rebuilding' | 'spare' | 'faulty' | 'stale' | 'journal';
    /** Rows of the member's data area whose every block is written on the grid: during a
     *  rebuild, the stripes already reconstructed onto the new member. */
    stripesWritten: number;
    /** md's own progress mark for a rebuilding member (recovery_offset), in stripes. */
    stripesRebuilt: number | null;
  }>;
}

export const NO_KIND = 255;

/** Index of a kind in REGION_KINDS (the overlay's cell values). */
export function kindIndex(kind: RegionKind): number {
  return REGION_KINDS.indexOf(kind);
}
