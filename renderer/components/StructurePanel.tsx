// The Structure overlay's panel (right of the disks) and activity line (under them): a legend
// that reads from the back of the room, the RAID arrays with their rebuild progress, and every
// region and file — picking one lights its blocks up on every disk (for a file on RAID 5, the
// parity blocks covering it too). Registered as page regions while the overlay is on.

import { REGION_KIND_NAMES, type ArrayStatus, type RegionKind } from '../../server/shared/structure.ts';
import { cssColour } from '../grid/structure-palette.ts';
import { useUi } from '../store/store.ts';
import { setStructure, useStructure } from '../store/structure.ts';
import { structureView } from '../structure-view.ts';
import { human } from './format.ts';
import { objectRows } from './structure-rows.ts';
import { BOTTOM_STRIPS, SIDE_PANELS } from './regions.tsx';

const MAX_SHOWN = 300;

export function StructureLegend() {
  const kinds = useStructure((s) => {
    const present = new Set<RegionKind>();
    for (const o of Object.values(s.overlays)) for (const k of o.kinds) if (k !== 'free') present.add(k);
    return [...present].join(' ');
  });
  const picked = useStructure((s) => (!s.highlight ? 0 : s.highlight.disks.some((d) => d.parityRuns.length) ? 2 : 1));
  const list = kinds ? (kinds.split(' ') as RegionKind[]) : [];
  return (
    <ul className="structure-legend" aria-label="structure legend">
      {list.map((k) => (
        <li key={k}>
          <span className="swatch" style={{ background: cssColour(k) }} />
          {REGION_KIND_NAMES[k]}
        </li>
      ))}
      {picked > 0 && (
        <li>
          <span className="swatch" style={{ background: 'rgb(255, 196, 0)' }} />
          picked
        </li>
      )}
      {picked > 1 && (
        <li>
          <span className="swatch" style={{ background: 'rgb(255, 0, 255)' }} />
          its parity
        </li>
      )}
      {!list.length && <li className="muted">nothing recognised yet</li>}
    </ul>
  );
}

function memberText(a: ArrayStatus, m: ArrayStatus['members'][number]): string {
  const who = m.disk === null ? 'a disk outside Blockscope' : `disk ${m.disk}`;
  if (
    m.state === 'rebuilding' ||
    (typeof m.role === 'number' && m.stripesWritten < a.stripes && m.stripesRebuilt !== null)
  )
    return `${who} rebuilding role ${m.role}: ${m.stripesWritten}/${a.stripes} stripes`;
  if (m.state === 'active') return `${who} role ${m.role}`;
  return `${who} ${m.state}`;
}

/** What the members' list leaves out: roles nobody fills ("role 2 missing (degraded)"). */
function gapTexts(a: ArrayStatus): string[] {
  return [
    ...a.missing.map((r) => `role ${r} missing (${a.description.startsWith('RAID 0') ? 'cannot run' : 'degraded'})`),
    ...a.notFound.map((r) => `role ${r} on a disk outside Blockscope`),
  ];
}

function Arrays() {
  const arrays = useStructure((s) => s.arrays);
  if (!arrays.length) return null;
  return (
    <ul className="structure-arrays" aria-label="RAID arrays">
      {arrays.map((a) => (
        <li key={a.id}>
          <b>{a.name}</b> {a.description} · {[...a.members.map((m) => memberText(a, m)), ...gapTexts(a)].join(' · ')}
        </li>
      ))}
    </ul>
  );
}

function Objects() {
  const objects = useStructure((s) => s.objects);
  const filter = useStructure((s) => s.filter);
  const selected = useStructure((s) => s.selected);
  const severalDisks = useUi((s) => s.disks.length > 1);
  const matching = objectRows(objects, filter, severalDisks);
  return (
    <>
      <input
        type="search"
        className="structure-filter"
        placeholder="find a file or region"
        aria-label="find a file or region"
        value={filter}
        onChange={(e) => setStructure({ filter: e.target.value })}
        onKeyDown={(e) => {
          // Esc in a search with text clears it, and only that (the page's Esc would close the overlay).
          if (e.key !== 'Escape' || !filter) return;
          e.preventDefault();
          setStructure({ filter: '' });
        }}
      />
      <ul className="structure-objects" aria-label="regions and files">
        {matching.slice(0, MAX_SHOWN).map(({ object: o, disks, place }) => (
          <li key={o.id}>
            <button
              type="button"
              aria-pressed={selected === o.id}
              title={`${o.label} — ${o.where}${disks ? ` (${disks})` : ''}`}
              onClick={() => void structureView()?.select(selected === o.id ? null : o.id)}
            >
              <span className="label">
                {o.label}
                {place && <span className="muted"> · {place}</span>}
              </span>
              {/* Its own column: a long label is cut, never the disk. The spaces part the words
                  in the button's accessible name (flex ignores them). */}{' '}
              {disks && <span className="structure-disks">{disks}</span>}{' '}
              <span className="muted">{human(Number(o.bytes))}</span>
            </button>
          </li>
        ))}
        {matching.length > MAX_SHOWN && <li className="muted">{matching.length - MAX_SHOWN} more: type to narrow</li>}
        {/* An empty list under a search read as "not decoded yet". */}
        {filter.trim() && matching.length === 0 && <li className="muted">nothing matches “{filter.trim()}”</li>}
      </ul>
    </>
  );
}

export function StructurePanel() {
  const status = useStructure((s) => s.status);
  const highlight = useStructure((s) => s.highlight);
  // The decoders read the disks as they are now; scrubbed back, the grids show another moment.
  const past = useUi((s) => s.timeline?.mode === 'live' && !s.timeline.following);
  const where = highlight
    ? highlight.disks
        .map((d) => {
          const n = d.runs.reduce((x, [a, b]) => x + b - a, 0);
          const p = d.parityRuns.reduce((x, [a, b]) => x + b - a, 0);
          return `disk ${d.disk}: ${n} blocks${p ? ` + ${p} parity` : ''}`;
        })
        .join(' · ')
    : '';
  return (
    <div className="structure-panel">
      <h2>Structure</h2>
      <p className="muted" data-testid="structure-status">
        {!status ? 'decoding…' : status.stale ? 'updating…' : `decoded (${status.lastDecodeMs} ms)`}
        {status?.truncated ? ' · too big to list everything' : ''}
      </p>
      {past && (
        <p className="message-warn" data-testid="structure-past">
          What the blocks are now: the grids show an earlier moment (time machine; L for live).
        </p>
      )}
      {status?.warnings.slice(0, 3).map((w) => (
        <p key={w} className="message-warn">
          {w}
        </p>
      ))}
      <StructureLegend />
      <Arrays />
      {highlight && (
        <p className="structure-picked" data-testid="structure-picked">
          <b>{highlight.object.label}</b> ({highlight.object.where}) · {where}
        </p>
      )}
      <Objects />
    </div>
  );
}

export function ActivityLine() {
  const text = useStructure((s) => s.activity);
  return (
    <div className="activity-line" role="status" aria-label="recent activity" data-testid="activity">
      {text || 'no recent requests'}
    </div>
  );
}

/** The hovered block's chain, in the tooltip (outermost first). */
export function StructureChain({ disk, block }: { disk: number; block: number }) {
  const on = useUi((s) => s.structureOn);
  const chain = useStructure((s) => s.chain);
  if (!on || !chain || !chain.key.startsWith(`${disk}:${block}:`)) return null;
  if (!chain.parts.length) return <div className="tooltip-chain muted">nothing recognised here</div>;
  return (
    <div className="tooltip-chain" data-testid="tooltip-chain">
      {chain.parts.map((p) => (
        <div key={p.start}>{p.chain.map((c) => c.label).join(' › ')}</div>
      ))}
    </div>
  );
}

SIDE_PANELS.push({ id: 'structure', title: 'Structure', Component: StructurePanel, visible: (s) => s.structureOn });
BOTTOM_STRIPS.push({
  id: 'activity',
  title: 'Recent activity',
  Component: ActivityLine,
  visible: (s) => s.structureOn,
});
