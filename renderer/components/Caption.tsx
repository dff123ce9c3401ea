import { useUi } from '../store/store.ts';

/** Demo narration: the step now running. */
export function Caption() {
  const caption = useUi((s) => s.caption);
  if (!caption) return null;
  return (
    <div className="caption" data-testid="caption">
      <span className="caption-step">
        {caption.step}/{caption.total}
      </span>
      <strong>{caption.title}</strong>
      <span>{caption.text}</span>
    </div>
  );
}
