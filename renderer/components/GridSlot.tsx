import { useEffect, useRef } from 'react';
import type { DiskInfo } from '../../server/shared/types.ts';
import type { Rect } from '../grid/layout.ts';
import { setUi } from '../store/store.ts';
import { useController } from './context.ts';

const ARROWS: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/**
 * Where one disk's grid is drawn (the Pixi canvas above paints it). It takes the pointer (hover,
 * wheel zoom about the pointer, drag to pan, double-click to fit) and the keyboard: focused, the
 * arrow keys move a cursor (Shift: 8 at a time, PageUp/PageDown: a screen) and the tooltip follows.
 */
export function GridSlot({ disk, slot, label }: { disk: DiskInfo; slot: Rect; label: string }) {
  const c = useController();
  const el = useRef<HTMLDivElement>(null);
  const drag = useRef<{ x: number; y: number; moved: boolean } | null>(null);
  const n = disk.number;

  // Wheel zoom must cancel page scrolling: React's wheel listener is passive.
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      c.grid.zoom(n, e.deltaY < 0 ? 1.25 : 0.8, e.clientX, e.clientY);
      c.hoverAt(n, e.clientX, e.clientY);
    };
    node.addEventListener('wheel', onWheel, { passive: false });
    return () => node.removeEventListener('wheel', onWheel);
  }, [c, n]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const step = e.shiftKey ? 8 : 1;
    const arrow = ARROWS[e.key];
    const page = e.key === 'PageDown' ? 1 : e.key === 'PageUp' ? -1 : 0;
    const rows = Math.max(1, Math.floor(slot.h / 8));
    if (arrow) c.moveCursor(n, arrow[0] * step, arrow[1] * step);
    else if (page) c.moveCursor(n, 0, page * rows);
    else if (e.key === 'Home') c.setCursor(n, 0);
    else return;
    e.preventDefault(); // handled here: not a page shortcut
  };

  return (
    <div
      ref={el}
      className="slot"
      style={{ left: slot.x, top: slot.y, width: slot.w, height: slot.h }}
      tabIndex={0}
      role="application"
      aria-roledescription="block grid"
      aria-label={label}
      data-testid={`slot-${n}`}
      // A keyboard cursor only for keyboard focus (a click focuses too, but points with the mouse).
      onFocus={(e) => e.currentTarget.matches(':focus-visible') && c.moveCursor(n, 0, 0)}
      onBlur={() => c.setCursor(n, null)}
      onKeyDown={onKeyDown}
      onPointerMove={(e) => {
        const d = drag.current;
        if (d) {
          if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) > 2) d.moved = true;
          c.grid.pan(n, e.clientX - d.x, e.clientY - d.y);
          drag.current = { ...d, x: e.clientX, y: e.clientY };
        }
        c.hoverAt(n, e.clientX, e.clientY);
      }}
      onPointerLeave={() => {
        drag.current = null;
        c.hoverAt(n, -1, -1);
      }}
      onPointerDown={(e) => {
        drag.current = { x: e.clientX, y: e.clientY, moved: false };
        (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
      }}
      onPointerUp={() => (drag.current = null)}
      onDoubleClick={() => {
        c.grid.resetView(n);
        setUi({ hover: null });
      }}
    />
  );
}
