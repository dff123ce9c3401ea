// Extension points of the page layout: a side panel (right of the disks) and a bottom strip
// (under them, e.g. a timeline). Panels registered here render there; the stage shrinks to
// make room and the grids are laid out again (the stage is measured, not assumed).

import type { ComponentType } from 'react';
import { useUi, type UiState } from '../store/store.ts';

export interface RegionPanel {
  id: string;
  /** Accessible name of the panel. */
  title: string;
  Component: ComponentType;
  /** Shown when true (default: always). */
  visible?: (s: UiState) => boolean;
}

export const SIDE_PANELS: RegionPanel[] = [];
export const BOTTOM_STRIPS: RegionPanel[] = [];

function Region({ panels, className }: { panels: RegionPanel[]; className: string }) {
  const ids = useUi((s) =>
    panels
      .filter((p) => p.visible?.(s) ?? true)
      .map((p) => p.id)
      .join(' '),
  );
  if (!ids) return null;
  const shown = panels.filter((p) => ids.split(' ').includes(p.id));
  return (
    <div className={className}>
      {shown.map(({ id, title, Component }) => (
        <section key={id} aria-label={title} data-region={id}>
          <Component />
        </section>
      ))}
    </div>
  );
}

export const SideRegion = () => <Region panels={SIDE_PANELS} className="side-region" />;
export const BottomRegion = () => <Region panels={BOTTOM_STRIPS} className="bottom-region" />;
