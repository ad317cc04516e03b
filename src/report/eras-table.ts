/**
 * The decision-point table of docs/eras.md: which rule each era uses at each
 * decision point, read from the policy objects themselves (a rule is a named
 * function in src/policy/rules.ts).
 */

import type { Policy } from '../core/points.js';

export const DECISION_POINTS = [
  'folio_add_new_anon_rmap',
  'do_wp_page',
  'wp_can_reuse_large_anon_folio',
  'do_huge_pmd_wp_page',
  'copy_present_pte',
  'should_force_cow_break',
  'can_follow_write_pte',
  'writable_file_mapping_allowed',
  'gup_must_unshare',
  'gup_fast_fallback',
  'may_wrprotect_pte',
  'pte_is_pinned',
  'can_change_pte_writable',
  'bio_iov_iter_get_pages',
  'do_swap_page',
  'shrink_folio_list',
] as const;

function ruleName(p: Policy, point: (typeof DECISION_POINTS)[number]): string {
  if (point === 'folio_add_new_anon_rmap') {
    return p.folio_add_new_anon_rmap({} as never, {} as never, 0).exclusive
      ? 'exclusive'
      : 'not exclusive';
  }
  const rule = p[point];
  // A point an era leaves to another rule (null): wp_can_reuse_large_anon_folio before v6.15.
  if (rule === null) return 'as do_wp_page';
  return rule.name || '(anonymous)';
}

/** A Markdown table: one row per decision point, one column per era. */
export function erasDecisionTable(policies: readonly Policy[]): string {
  const rows = [
    `| decision point | ${policies.map((p) => `\`${p.id}\``).join(' | ')} |`,
    `| --- | ${policies.map(() => '---').join(' | ')} |`,
    ...DECISION_POINTS.map(
      (d) => `| \`${d}\` | ${policies.map((p) => `\`${ruleName(p, d)}\``).join(' | ')} |`,
    ),
    `| GUP_PIN_COUNTING_BIAS | ${policies.map((p) => String(p.GUP_PIN_COUNTING_BIAS)).join(' | ')} |`,
    `| write_protect_seq | ${policies.map((p) => (p.write_protect_seq ? 'yes' : 'no')).join(' | ')} |`,
    `| break_ksm unshare | ${policies.map((p) => (p.break_ksm_unshare ? 'yes' : 'no')).join(' | ')} |`,
    `| KSM zero pages marked | ${policies.map((p) => (p.ksm_zero_pte_marked ? 'yes' : 'no')).join(' | ')} |`,
    `| ksm_fork resets counters | ${policies.map((p) => (p.ksm_fork_resets_counters ? 'yes' : 'no')).join(' | ')} |`,
    `| PR_SET_MEMORY_MERGE | ${policies.map((p) => (p.prctl_memory_merge ? 'yes' : 'no')).join(' | ')} |`,
    `| UFFD_FEATURE_WP_UNPOPULATED | ${policies.map((p) => (p.uffd_wp_unpopulated ? 'yes' : 'no')).join(' | ')} |`,
    `| collapse needs a writable PTE (SCAN_PAGE_RO) | ${policies.map((p) => (p.collapse_scan_page_ro ? 'yes' : 'no')).join(' | ')} |`,
    `| pte_offset_map() under RCU, PMD rechecked | ${policies.map((p) => (p.pte_map_rcu ? 'yes' : 'no')).join(' | ')} |`,
    `| MADV_COLLAPSE of shmem | ${policies.map((p) => (p.madv_collapse_file ? 'yes' : 'no')).join(' | ')} |`,
    `| MADV_COLLAPSE | ${policies.map((p) => (p.madv_collapse ? 'yes' : 'no')).join(' | ')} |`,
    `| huge zero PMD write | ${policies.map((p) => (p.huge_zero_wp_alloc ? 'alloc THP' : 'split')).join(' | ')} |`,
    `| forced COW break by FOLL_BREAK_COW, not FOLL_WRITE | ${policies.map((p) => (p.foll_break_cow ? 'yes' : 'no')).join(' | ')} |`,
    `| copy_present_page uffd-wp | ${policies.map((p) => (p.copy_present_page_uffd_wp ? 'yes' : 'no')).join(' | ')} |`,
    `| page tables | ${policies.map((p) => p.ptStrategy).join(' | ')} |`,
  ];
  return `${rows.join('\n')}\n`;
}
