import { useUi } from '../store/store.ts';
import { hex, human, humanBig } from './format.ts';

export function Tooltip() {
  const hover = useUi((s) => s.hover);
  if (!hover) return null;
  const i = hover.info;
  const blocks =
    i.blockCount > 1 ? `blocks ${i.firstBlock}–${i.firstBlock + i.blockCount - 1}` : `block ${i.firstBlock}`;
  const len = Number(BigInt(i.byteEnd) - BigInt(i.byteStart));
  return (
    <div className="tooltip" style={{ left: hover.x + 14, top: hover.y + 14 }} data-testid="tooltip">
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
    </div>
  );
}
