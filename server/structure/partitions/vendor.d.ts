// Types for the two partition-table packages from npm (they ship plain CommonJS, no types).
// Only what the decoders use is declared.

declare module 'gpt' {
  class PartitionEntry {
    static parse(buffer: Buffer, offset?: number): PartitionEntry;
    isEmpty(): boolean;
    type: string;
    guid: string;
    name: string;
    firstLBA: bigint;
    lastLBA: bigint;
    attr: bigint;
  }
  class GPT {
    static PartitionEntry: typeof PartitionEntry;
    constructor(options?: { blockSize?: number });
    blockSize: number;
    guid: string;
    revision: number;
    headerSize: number;
    headerChecksum: number;
    currentLBA: bigint;
    backupLBA: bigint;
    firstLBA: bigint;
    lastLBA: bigint;
    tableOffset: bigint;
    entries: number;
    entrySize: number;
    tableChecksum: number;
    partitions: PartitionEntry[];
    readonly tableSize: number;
    parseHeader(buffer: Buffer, offset?: number): GPT;
    parseTable(buffer: Buffer, offset?: number, end?: number): GPT;
    checksumTable(buffer: Buffer, offset?: number): number;
  }
  export = GPT;
}

declare module 'mbr' {
  interface MbrPartition {
    status: number;
    type: number;
    firstLBA: number;
    sectors: number;
    readonly extended: boolean;
  }
  interface MbrInstance {
    partitions: MbrPartition[];
  }
  const MBR: {
    parse(buffer: Buffer, start?: number, end?: number): MbrInstance;
  };
  export = MBR;
}
