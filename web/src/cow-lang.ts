/** The scenario language (docs/scenarios.md) for highlight.js. */

import type { HLJSApi, Language } from 'highlight.js';

export function cowherdLanguage(hljs: HLJSApi): Language {
  return {
    name: 'cowherd',
    aliases: ['cow'],
    keywords: {
      keyword:
        'scenario doc cite setup thread exists forall expect env claim const phase repeat breaks nothing',
      built_in:
        'fork spawn wait exit signal await mmap munmap mremap mprotect madvise pin gup unpin iouring odirect memfd tmpfile ksm_scan prctl userfaultfd uffd clear_refs vmsplice write read pipe sched_setaffinity observe exec wait_writeback lru_add_drain_all',
      literal: 'Never Sometimes Always Hang',
    },
    contains: [
      hljs.HASH_COMMENT_MODE,
      hljs.QUOTE_STRING_MODE,
      { className: 'meta', begin: /\[(obs|der|src|patch|unc|unconf)\]/ },
      { className: 'title', begin: /\bv\d+\.\d+(\/[a-z0-9-]+)?\b/ },
      { className: 'number', begin: /\b(0x[0-9a-fA-F]+|\d+)\b/ },
    ],
  };
}
