import { useEffect, useRef } from 'react';
import { setUi, useUi } from '../store/store.ts';
import { ActionButton } from './ActionButton.tsx';

/**
 * Demo narration: the step now running, what the guest printed for it (its own evidence:
 * /proc/mdstat, kernel messages), and at the end a summary that stays until closed. The bar has
 * a fixed height while a demo runs, so the grids never jump.
 */
export function Caption() {
  const caption = useUi((s) => s.caption);
  const evidence = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = evidence.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [caption?.evidence]);
  if (!caption) return null;
  const done = caption.phase === 'done';
  return (
    <section
      className={`caption phase-${caption.phase ?? 'running'}`}
      data-testid="caption"
      aria-label="demo caption"
      aria-live="polite"
    >
      <div className="caption-text">
        <div className="caption-head">
          {!done && (
            <span className="caption-step">
              step {caption.step}/{caption.total}
            </span>
          )}
          <strong>{caption.title}</strong>
          {caption.phase === 'waiting' && <span className="caption-wait">step done · N, → or Next to go on</span>}
        </div>
        <p>{caption.text}</p>
      </div>
      <pre className="evidence" ref={evidence} aria-label="what the guest printed" tabIndex={0}>
        {caption.evidence || (done ? '' : '(the guest has printed nothing for this step yet)')}
      </pre>
      <div className="caption-buttons">
        {caption.phase === 'waiting' && <ActionButton name="nextStep" />}
        {done && (
          <button type="button" onClick={() => setUi({ caption: null })} aria-label="close the demo summary">
            Close
          </button>
        )}
      </div>
    </section>
  );
}
