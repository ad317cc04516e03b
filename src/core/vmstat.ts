/**
 * Event counters with the names /proc/vmstat prints (include/linux/vm_event_item.h,
 * mm/vmstat.c vmstat_text), plus the counters seed 003 added to its kernel for
 * the forceswap study. Counters are a plain array of numbers in the state, indexed by the
 * position of the name in VM_EVENT_NAMES.
 */

export const VM_EVENT_NAMES = [
  'pgfault',
  'pgmajfault',
  'pgreuse',
  'cow_ksm',
  'pswpin',
  'pswpout',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_split_pmd',
  'thp_split_page',
  'thp_collapse_alloc',
  'ksm_swpin_copy',
  'anon_wp_copy_count',
  'anon_wp_copy_count_early',
  'anon_wp_copy_lock',
  'anon_wp_reuse',
  'pt_reclaim_pte',
] as const;

export type VmEvent = (typeof VM_EVENT_NAMES)[number];

const INDEX: ReadonlyMap<string, number> = new Map(VM_EVENT_NAMES.map((n, i) => [n, i]));

export const PGFAULT = 0;
export const PGMAJFAULT = 1;
export const PGREUSE = 2;
export const COW_KSM = 3;
export const PSWPIN = 4;
export const PSWPOUT = 5;
export const PT_RECLAIM_PTE = VM_EVENT_NAMES.indexOf('pt_reclaim_pte');
export const ANON_WP_COPY_COUNT = VM_EVENT_NAMES.indexOf('anon_wp_copy_count');
export const ANON_WP_REUSE = VM_EVENT_NAMES.indexOf('anon_wp_reuse');

export function vmEventIndex(name: string): number | undefined {
  return INDEX.get(name);
}

export function newVmstat(): number[] {
  return new Array<number>(VM_EVENT_NAMES.length).fill(0);
}

/** include/linux/vmstat.h count_vm_event() */
export function count_vm_event(vmstat: number[], item: number): void {
  vmstat[item] = (vmstat[item] ?? 0) + 1;
}

/** include/linux/vmstat.h count_vm_events() */
export function count_vm_events(vmstat: number[], item: number, delta: number): void {
  vmstat[item] = (vmstat[item] ?? 0) + delta;
}
