/** A scenario's text, highlighted, one numbered line per row (a line can be marked). */

import hljs from 'highlight.js/lib/core';
import { useMemo } from 'preact/hooks';
import { cowherdLanguage } from '../cow-lang.js';

hljs.registerLanguage('cowherd', cowherdLanguage);

export function SourceView({ text, mark }: { text: string; mark?: number | null }) {
  const lines = useMemo(
    () => hljs.highlight(text, { language: 'cowherd' }).value.split('\n'),
    [text],
  );
  return (
    <pre class="source" data-testid="source">
      {lines.map((html, i) => (
        <div class={`line${mark === i + 1 ? ' marked' : ''}`} key={i}>
          <span class="ln">{i + 1}</span>
          {/* biome-ignore lint/style/useNamingConvention: Preact's own prop name; highlight.js escapes the text it is given */}
          <code dangerouslySetInnerHTML={{ __html: html || ' ' }} />
        </div>
      ))}
    </pre>
  );
}
