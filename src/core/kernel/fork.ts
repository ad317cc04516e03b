/**
 * Process and thread creation: kernel/fork.c copy_process() → dup_mm() →
 * dup_mmap() for fork(), and CLONE_VM for threads.
 */

import { dup_fd } from '../fs/pipe.js';
import { pte_index, ptep_get, pteTable, set_pte_at } from '../mm/memory/pgtable.js';
import { dup_mmap } from '../mm/mmap.js';
import type { State, Task } from '../mm_types.js';
import { MMF_INIT_MASK, mm_alloc, mmOf, TASK_RUNNING } from '../mm_types.js';
import { pte_present, pte_write, pte_wrprotect } from '../pgtable_types.js';
import type { Kernel } from '../points.js';

/** The first process of a run: an empty address space and no files. */
export function spawnInit(s: State): Task {
  const mm = mm_alloc(s);
  const pid = s.tasks.length;
  const t: Task = {
    pid,
    tgid: pid,
    parent: 0,
    mm: mm.id,
    state: TASK_RUNNING,
    exit_code: 0,
    files: [],
    own: s.cow,
  };
  s.tasks[pid] = t;
  return t;
}

/**
 * kernel/fork.c copy_process(): fork() (a new mm, copied by dup_mmap(), and a
 * copy of the fd table) or, with `clone_vm`, a thread sharing the mm and files.
 */
export function copy_process(s: State, k: Kernel, parent: Task, clone_vm: boolean): Task {
  const pid = s.tasks.length;
  if (clone_vm) {
    const mm = mmOf(s, parent.mm);
    mm.mm_users += 1;
    const t: Task = {
      pid,
      tgid: parent.tgid,
      parent: parent.parent,
      mm: mm.id,
      state: TASK_RUNNING,
      exit_code: 0,
      files: [],
      own: s.cow,
    };
    s.tasks[pid] = t;
    return t;
  }
  const oldmm = mmOf(s, parent.mm);
  const mm = mm_alloc(s);
  // raw_write_seqcount_begin(&oldmm->write_protect_seq) around the COW copy.
  oldmm.write_protect_seq += 1;
  mm.flags = oldmm.flags & MMF_INIT_MASK;
  // ksm_fork(): the child has no rmap_items; dup_mm() copied the counter
  // until the era resets it.
  if (!k.policy.ksm_fork_resets_counters) mm.ksm_merging_pages = oldmm.ksm_merging_pages;
  dup_mmap(s, k, mm, oldmm);
  if (!k.forkDeferred || k.forkDeferred.length === 0) oldmm.write_protect_seq += 1;
  const leader = s.tasks[parent.tgid] ?? parent;
  const t: Task = {
    pid,
    tgid: pid,
    parent: parent.tgid,
    mm: mm.id,
    state: TASK_RUNNING,
    exit_code: 0,
    files: dup_fd(s, leader.files),
    own: s.cow,
  };
  s.tasks[pid] = t;
  return t;
}

/**
 * The end of a fork() the explorer split (Kernel.forkDeferred): write-protect
 * the parent's PTEs copy_page_range() left writable, then
 * raw_write_seqcount_end(&mm->write_protect_seq).
 */
export function fork_wrprotect_finish(s: State, mmId: number, addresses: readonly number[]): void {
  const mm = s.mms[mmId];
  if (!mm) return;
  for (const addr of addresses) {
    const t = pteTable(s, mm, addr);
    if (t === 0) continue;
    const i = pte_index(addr);
    const pte = ptep_get(s, t, i);
    if (pte_present(pte) && pte_write(pte)) set_pte_at(s, t, i, pte_wrprotect(pte));
  }
  mm.write_protect_seq += 1;
}
