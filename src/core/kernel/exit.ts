/**
 * Process exit and reaping: kernel/exit.c do_exit() → exit_mm() → mmput()
 * (exit_mmap() on the last user), exit_files(), and wait4() reaping a zombie.
 */

import { pipe_close } from '../fs/pipe.js';
import { exit_mmap } from '../mm/mmap.js';
import type { State, Task } from '../mm_types.js';
import { EXIT_DEAD, EXIT_ZOMBIE, mmOf, TASK_RUNNING, taskW } from '../mm_types.js';

/** kernel/fork.c mmput(): drop one user; the last one tears the address space down. */
export function mmput(s: State, mmId: number): void {
  const mm = mmOf(s, mmId);
  mm.mm_users -= 1;
  if (mm.mm_users > 0) return;
  exit_mmap(s, mm);
  s.mms[mmId] = null;
}

/** do_exit() of one task. */
export function do_exit(s: State, task: Task, code: number): void {
  if (task.state !== TASK_RUNNING) return;
  const t = taskW(s, task.pid);
  if (t.mm !== 0) mmput(s, t.mm);
  t.mm = 0;
  for (const fd of t.files.slice()) pipe_close(s, t, fd);
  t.state = EXIT_ZOMBIE;
  t.exit_code = code;
}

/** do_group_exit(): every thread of the task's thread group exits with `code`. */
export function do_group_exit(s: State, task: Task, code: number): void {
  for (const t of s.tasks) if (t && t.tgid === task.tgid) do_exit(s, t, code);
}

/** wait4() of a zombie child (task `pid`): it is reaped and its exit status returned. */
export function release_task(s: State, pid: number): number {
  const t = taskW(s, pid);
  t.state = EXIT_DEAD;
  return t.exit_code;
}
