/**
 * kernel/sys.c prctl(): the options the model knows. PR_SET_MEMORY_MERGE and
 * PR_GET_MEMORY_MERGE (v6.4, "mm: add new api to enable ksm per process")
 * switch KSM on for a whole process (mm/ksm.c ksm_enable_merge_any(),
 * ksm_disable_merge_any()).
 */

import { EINVAL } from '../errno.js';
import { ksm_disable_merge_any, ksm_enable_merge_any } from '../mm/ksm.js';
import type { Mm, State } from '../mm_types.js';
import { MMF_VM_MERGE_ANY } from '../mm_types.js';
import type { Kernel } from '../points.js';

/* include/uapi/linux/prctl.h */
export const PR_SET_MEMORY_MERGE = 67;
export const PR_GET_MEMORY_MERGE = 68;

/** prctl(option, arg2) for `mm`; returns the result or a negative errno. */
export function prctl(s: State, k: Kernel, mm: Mm, option: number, arg2: number): number {
  switch (option) {
    case PR_SET_MEMORY_MERGE:
      if (!k.policy.prctl_memory_merge) return -EINVAL;
      if (arg2 !== 0 && arg2 !== 1) return -EINVAL;
      if (arg2) ksm_enable_merge_any(mm);
      else ksm_disable_merge_any(s, k, mm);
      return 0;
    case PR_GET_MEMORY_MERGE:
      if (!k.policy.prctl_memory_merge) return -EINVAL;
      return mm.flags & MMF_VM_MERGE_ANY ? 1 : 0;
    default:
      return -EINVAL;
  }
}
