/**
 * fs/exec.c execve() as far as memory goes: begin_new_exec() → de_thread()
 * (the other threads of the group exit) → exec_mmap(): the task gets a new,
 * empty mm and drops the old one (mmput()). The new mm was set up by
 * mm_alloc() → mm_init(), which copies the MMF_INIT_MASK flags of the
 * current mm (MMF_VM_MERGE_ANY among them, so prctl(PR_SET_MEMORY_MERGE)
 * survives exec; include/linux/ksm.h ksm_execve() registers the mm with KSM,
 * "mm/ksm: support fork/exec for prctl", v6.7). Open files stay open (the
 * model has no close-on-exec). No program is loaded: the new address space
 * starts empty.
 */

import { do_exit, mmput } from '../kernel/exit.js';
import type { State, Task } from '../mm_types.js';
import { MMF_INIT_MASK, mm_alloc, mmOf, taskW } from '../mm_types.js';

/** SIGKILL: what de_thread() sends the other threads (exit status 128 + 9). */
const KILLED = 128 + 9;

/** execve() by task `t`; returns the id of the mm it dropped. */
export function do_execve(s: State, t: Task): number {
  const old = mmOf(s, t.mm);
  for (const o of s.tasks) if (o && o.pid !== t.pid && o.tgid === t.tgid) do_exit(s, o, KILLED);
  const mm = mm_alloc(s);
  mm.flags = old.flags & MMF_INIT_MASK;
  taskW(s, t.pid).mm = mm.id;
  mmput(s, old.id);
  return old.id;
}
