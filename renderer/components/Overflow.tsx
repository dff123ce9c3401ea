// Controls that give way where a row is too narrow (browser zoom 150–200 %, a small window):
// in the row where there is room (`Secondary`), behind a "More" button where there is not
// (`MoreMenu`, listing the same controls), so the row stays one row high and the grids keep
// their room. The breakpoint is CSS (styles.css, `.overflow-*`): the row's copies are hidden
// below it and the menu above it, so each control is on screen once.

import { useEffect, useRef, useState, type ReactNode } from 'react';

/** Controls shown in the row only where it is wide enough (the MoreMenu has them otherwise). */
export function Secondary({ children }: { children: ReactNode }) {
  return <span className="overflow-inline">{children}</span>;
}

export function MoreMenu({ label, children }: { label: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!open) return;
    // A press anywhere else closes the menu (so do Escape in it and the button again).
    const close = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', close);
    return () => document.removeEventListener('pointerdown', close);
  }, [open]);
  return (
    <span className="overflow-more" ref={box}>
      <button type="button" aria-expanded={open} aria-label={label} title={label} onClick={() => setOpen(!open)}>
        More ▾
      </button>
      {open && (
        <div
          className="overflow-menu"
          role="group"
          aria-label={label}
          onKeyDown={(e) => {
            if (e.key !== 'Escape') return;
            e.stopPropagation();
            setOpen(false);
            box.current?.querySelector('button')?.focus();
          }}
        >
          {children}
        </div>
      )}
    </span>
  );
}
