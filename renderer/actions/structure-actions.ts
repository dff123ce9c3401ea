// The Structure overlay's actions: S toggles the tints, the legend, the region/file panel and
// the activity line (renderer/structure-view.ts does the fetching and drawing).

import type { Controller } from '../controller.ts';
import { setUi, sourceMode } from '../store/store.ts';
import type { Action } from './registry.ts';

export const STRUCTURE_ACTIONS: Action<Controller>[] = [
  {
    name: 'structure',
    label: 'Structure',
    description:
      'Structure overlay: what each block is — partition tables, superblocks, inode tables, journal, files, RAID parity — with a legend and a region/file panel',
    keys: ['s'],
    // Only served disks have bytes to decode (attach and replay only see requests).
    available: (s) => sourceMode(s) === 'server',
    pressed: (s) => s.structureOn,
    perform({ s }) {
      setUi({
        structureOn: !s.structureOn,
        announce: { text: s.structureOn ? 'Structure overlay off' : 'Structure overlay on', at: performance.now() },
      });
    },
  },
  {
    // Demos switch the overlay on where it tells the story (parity rotating, mkfs's layout).
    name: 'structureShow',
    label: 'Show structure',
    description: 'Turn the Structure overlay on (demos use this)',
    available: (s) => sourceMode(s) === 'server',
    perform: () => setUi({ structureOn: true }),
  },
];
