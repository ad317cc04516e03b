/**
 * Pipes (fs/pipe.c do_pipe2(), pipe_write(), pipe_read(), pipe_release()).
 * A buffer is one page: pipe_write() copies into a page of its own
 * (anon_pipe_buf_ops); vmsplice() puts a reference to a user page instead
 * (user_page_pipe_buf_ops), so a later read sees that page as it is then.
 */

import { EAGAIN, EBADF, EPIPE } from '../errno.js';
import { FOLL_GET, get_user_pages_fast, gup_put_page } from '../mm/gup.js';
import { alloc_pages, folio_put } from '../mm/page_alloc.js';
import type { Mm, State, Task } from '../mm_types.js';
import { contentW, taskW, ZERO_PFN } from '../mm_types.js';
import type { Kernel } from '../points.js';

export const PIPE_READ_END = 0;
export const PIPE_WRITE_END = 1;

/** do_pipe2(): a new pipe; the task holds both ends. Returns the pipe id. */
export function do_pipe2(s: State, task: Task): number {
  const id = s.pipes.length;
  s.pipes[id] = { id, bufs: [], readers: 1, writers: 1 };
  taskW(s, task.pid).files.push(2 * id + PIPE_READ_END, 2 * id + PIPE_WRITE_END);
  return id;
}

function holds(task: Task, pipe: number, end: number): boolean {
  return task.files.includes(2 * pipe + end);
}

/** pipe_write() of one page holding `value`. Returns 0 or a negative errno. */
export function pipe_write(s: State, task: Task, pipe: number, value: number): number {
  const p = s.pipes[pipe];
  if (!p || !holds(task, pipe, PIPE_WRITE_END)) return -EBADF;
  if (p.readers === 0) return -EPIPE;
  const pfn = alloc_pages(s, 0);
  contentW(s.mem)[pfn] = value;
  p.bufs.push({ pfn, ops: 'anon' });
  return 0;
}

/**
 * fs/splice.c vmsplice_to_pipe() → iter_to_pipe(): take a FOLL_GET reference
 * on each user page (iov_iter_get_pages2() → get_user_pages_fast(), read-only)
 * and queue it as a pipe buffer. No copy: a later read sees the page as it is
 * then. Returns the bytes spliced or a negative errno.
 */
export function vmsplice_to_pipe(
  s: State,
  k: Kernel,
  task: Task,
  mm: Mm,
  pipe: number,
  addr: number,
  len: number,
): number {
  const p = s.pipes[pipe];
  if (!p || !holds(task, pipe, PIPE_WRITE_END)) return -EBADF;
  if (p.readers === 0) return -EPIPE;
  const pages = get_user_pages_fast(s, k, mm, addr, len / 4096, FOLL_GET);
  if (typeof pages === 'number') return pages;
  for (const pfn of pages) p.bufs.push({ pfn, ops: 'user' });
  return len;
}

/**
 * pipe_read() of one buffer: the page's contents *now*, then the buffer's
 * reference is released (anon_pipe_buf_release / page_cache_pipe_buf_release).
 * Returns the value, or a negative errno (-EAGAIN when empty).
 */
export function pipe_read(s: State, task: Task, pipe: number): number {
  const p = s.pipes[pipe];
  if (!p || !holds(task, pipe, PIPE_READ_END)) return -EBADF;
  const buf = p.bufs.shift();
  if (!buf) return -EAGAIN;
  const value = s.mem.content[buf.pfn]!;
  if (buf.ops === 'user') gup_put_page(s, buf.pfn, buf.pfn === ZERO_PFN ? 0 : 1);
  else folio_put(s, buf.pfn);
  return value;
}

/** pipe_release() of one end; the last close frees the buffers. */
export function pipe_close(s: State, task: Task, fd: number): void {
  const at = task.files.indexOf(fd);
  if (at < 0) return;
  taskW(s, task.pid).files.splice(at, 1);
  const p = s.pipes[Math.floor(fd / 2)];
  if (!p) return;
  if (fd % 2 === PIPE_READ_END) p.readers -= 1;
  else p.writers -= 1;
  if (p.readers === 0 && p.writers === 0) {
    for (const b of p.bufs) {
      if (b.ops === 'user') gup_put_page(s, b.pfn, b.pfn === ZERO_PFN ? 0 : 1);
      else folio_put(s, b.pfn);
    }
    s.pipes[p.id] = null;
  }
}

/** dup of the fd table at fork: every end is held once more. */
export function dup_fd(s: State, files: readonly number[]): number[] {
  for (const fd of files) {
    const p = s.pipes[Math.floor(fd / 2)];
    if (!p) continue;
    if (fd % 2 === PIPE_READ_END) p.readers += 1;
    else p.writers += 1;
  }
  return files.slice();
}
