// What the Structure overlay shows (server/structure answers): per-disk cell kinds, the object
// list, the picked object's blocks, RAID arrays and the activity line. Kept apart from the main
// UI state; whether the overlay is on lives there (UiState.structureOn) for the page layout.

import { createStore, useStore } from 'zustand';
import type {
  ArrayStatus,
  BlockChain,
  ObjectBlocks,
  RegionKind,
  StructureObject,
  StructureStatus,
} from '../../server/shared/structure.ts';

export interface DiskOverlay {
  /** One kind index per engine cell (REGION_KINDS; NO_KIND = nothing known). */
  cells: Uint8Array;
  kinds: RegionKind[];
  version: number;
}

export interface StructureState {
  status: StructureStatus | null;
  overlays: Record<number, DiskOverlay>;
  objects: StructureObject[];
  /** The object picked in the panel, and its blocks on every disk (with covering parity). */
  selected: string | null;
  highlight: ObjectBlocks | null;
  arrays: ArrayStatus[];
  activity: string;
  /** The hovered block's chain (fetched once per block and structure version). */
  chain: { key: string; parts: BlockChain['parts'] } | null;
  filter: string;
}

export const structureStore = createStore<StructureState>(() => ({
  status: null,
  overlays: {},
  objects: [],
  selected: null,
  highlight: null,
  arrays: [],
  activity: '',
  chain: null,
  filter: '',
}));

export const useStructure = <T>(selector: (s: StructureState) => T): T => useStore(structureStore, selector);
export const setStructure = (patch: Partial<StructureState>) => structureStore.setState(patch);
export const getStructure = () => structureStore.getState();
export const subscribeStructure = structureStore.subscribe;
