// Plugs the time machine into the page: the timeline strip under the grids, the plots beside
// them, its keyboard actions, and the export hooks `blockscope export` uses.

import type { TimelineAction } from '../../server/shared/types.ts';
import type { ActionRegistry } from '../actions/registry.ts';
import type { Controller } from '../controller.ts';
import { installExportHooks } from '../export/exporter.ts';
import { timelineAction } from '../engine-calls.ts';
import { setUi } from '../store/store.ts';
import { Plots } from './Plots.tsx';
import { BOTTOM_STRIPS, SIDE_PANELS } from './regions.tsx';
import { TimelineStrip } from './Timeline.tsx';

const act = (c: Controller, action: TimelineAction) => timelineAction(c, action);

export function installTimeMachine(actions: ActionRegistry<Controller>, c: Controller): void {
  BOTTOM_STRIPS.push({ id: 'timeline', title: 'time machine', Component: TimelineStrip, visible: (s) => !!s.timeline });
  SIDE_PANELS.push({ id: 'plots', title: 'plots', Component: Plots, visible: (s) => !!s.timeline && s.plots });
  actions.register({
    name: 'timelineStep',
    label: 'Step',
    description: 'Time machine: go to the next completed request',
    keys: ['.'],
    available: (s) => !!s.timeline,
    engine: true,
    perform: ({ c: ctl }) => act(ctl, 'step'),
  });
  actions.register({
    name: 'timelineBurst',
    label: 'Next burst',
    description: 'Time machine: jump to the next burst of activity',
    keys: ['b'],
    available: (s) => !!s.timeline,
    engine: true,
    perform: ({ c: ctl }) => act(ctl, 'nextBurst'),
  });
  actions.register({
    name: 'timelineLive',
    label: 'Live',
    description: 'Time machine: back to the live disks',
    keys: ['l'],
    available: (s) => s.timeline?.mode === 'live',
    pressed: (s) => !!s.timeline?.following,
    engine: true,
    perform: ({ c: ctl }) => act(ctl, 'live'),
  });
  actions.register({
    name: 'plots',
    label: 'Plots',
    description: 'Show or hide the plots beside the grids (throughput, IOPS, latency, queue depth, offsets)',
    keys: ['g'],
    available: (s) => !!s.timeline,
    pressed: (s) => s.plots,
    perform: ({ s }) => setUi({ plots: !s.plots }),
  });
  // The engine pushes the timeline's status every second and on every move.
  c.transport.onPush((m) => {
    if (m.event === 'timeline') setUi({ timeline: m.status });
  });
  installExportHooks(c);
}
