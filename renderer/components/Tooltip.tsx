import { useLayoutEffect, useRef, useState } from 'react';
import { useUi } from '../store/store.ts';
import { hex, human, humanBig } from './format.ts';
import { StructureChain } from './StructurePanel.tsx';

const OFFSET = 14;

/** Details of the square under the pointer or the keyboard cursor; kept inside the window. */
export function Tooltip() {
  const hover = useUi((s) => s.hover);
  const paused = useUi((s) => s.paused);
  const el = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<{ left: number; top: number } | null>(null);
  useLayoutEffect(() => {
    const node = el.current;
    if (!node || !hover) return;
    const w = node.offsetWidth;
    const h = node.offsetHeight;
    // Right of and below the anchor, flipped when that would leave the window.
    let left = hover.x + OFFSET;
    let top = hover.y + OFFSET;
    if (left + w > window.innerWidth - 4) left = Math.max(4, hover.x - OFFSET - w);
    if (top + h > window.innerHeight - 4) top = Math.max(4, hover.y - OFFSET - h);
    setPos({ left, top });
  }, [hover]);
  if (!hover) return null;
  const i = hover.info;
  const blocks =
    i.blockCount > 1 ? `blocks ${i.firstBlock}–${i.firstBlock + i.blockCount - 1}` : `block ${i.firstBlock}`;
  const len = Number(BigInt(i.byteEnd) - BigInt(i.byteStart));
  return (
    <div
      ref={el}
      className="tooltip"
      style={pos ?? { left: hover.x + OFFSET, top: hover.y + OFFSET, visibility: 'hidden' }}
      data-testid="tooltip"
      role="tooltip"
    >
      <div className="tooltip-title">
        disk {i.disk} · {blocks}
      </div>
      <div>
        bytes {hex(i.byteStart)}–{hex(i.byteEnd)} ({humanBig(i.byteStart)} + {human(len)})
      </div>
      <div>
        state <b>{i.state}</b>
        {i.error ? ' · last request failed' : ''}
      </div>
      <div>
        reads {i.reads} · writes {i.writes}
      </div>
      <div>{i.lastOp ? `last ${i.lastOp} at ${new Date(i.lastTime!).toLocaleTimeString()}` : 'never touched'}</div>
      <StructureChain disk={i.disk} block={i.firstBlock} />
      {paused && <div className="muted">view paused</div>}
    </div>
  );
}
