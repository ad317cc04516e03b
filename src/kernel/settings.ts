/**
 * Host settings a scenario needs on the real kernel (a swap device, KSM's
 * knobs, THP mode `madvise`, a fast khugepaged), changed for the run and
 * restored afterwards: on a normal end, on SIGINT/SIGTERM/SIGHUP, on a crash,
 * and even when this process is killed outright. Before changing anything the
 * original values go into a journal file; a guardian process (guardian.ts),
 * whose stdin is a pipe from this process, restores the journal when the pipe
 * closes, which happens however this process ends. A journal left by an
 * earlier run (the machine rebooted under it) is replayed first.
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One change: write `value` to sysfs `path`; `original` is what to write back. */
export interface SysfsChange {
  readonly path: string;
  readonly original: string;
}

export interface Journal {
  /** The runner that made the changes: while it lives, nobody else restores them. */
  readonly pid: number;
  readonly sysfs: SysfsChange[];
  /** A swap file this run created and enabled: swapoff and delete it. */
  swapfile: string | null;
}

export function journalPath(): string {
  return join(tmpdir(), 'cowherd-kernel-settings.json');
}

function readSysfs(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The selected value of a "[a] b c" style file (THP `enabled`), or the file's text. */
export function sysfsSelected(text: string): string {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : text;
}

function writeSysfs(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}

/** Undo everything a journal records; returns what could not be undone. */
export function restoreJournal(j: Journal): string[] {
  const failed: string[] = [];
  if (j.swapfile) {
    const r = spawnSync('swapoff', [j.swapfile], { encoding: 'utf8' });
    if (r.status !== 0 && existsSync(j.swapfile) && swapActive(j.swapfile))
      failed.push(`swapoff ${j.swapfile}: ${r.stderr?.trim() ?? r.error?.message}`);
    else rmSync(j.swapfile, { force: true });
  }
  // Newest change first, so that a path changed twice ends at its first value.
  for (const c of [...j.sysfs].reverse())
    if (!writeSysfs(c.path, c.original)) failed.push(`${c.path} (was ${c.original})`);
  return failed;
}

/** Is process `pid` running (not gone, not a zombie waiting to be reaped)? */
function alive(pid: number): boolean {
  const stat = readSysfs(`/proc/${pid}/stat`);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** The pid of another live runner whose changes the journal holds, or null. */
export function journalOwner(path = journalPath()): number | null {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
    return j.pid !== process.pid && j.pid !== undefined && alive(j.pid) ? j.pid : null;
  } catch {
    return null;
  }
}

/**
 * Replay and delete a journal an earlier run left behind; returns what it
 * restored. A journal whose runner still lives is left alone.
 */
export function recoverJournal(path = journalPath()): string | null {
  if (!existsSync(path) || journalOwner(path) !== null) return null;
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
    const failed = restoreJournal(j);
    rmSync(path, { force: true });
    return failed.length ? `could not restore: ${failed.join(', ')}` : 'restored';
  } catch (e) {
    return `unreadable journal ${path}: ${(e as Error).message}`;
  }
}

function swapActive(file: string): boolean {
  return (readSysfs('/proc/swaps') ?? '').split('\n').some((l) => l.split(/\s+/)[0] === file);
}

/** Is any swap device enabled? */
export function swapEnabled(): boolean {
  return (readSysfs('/proc/swaps') ?? '').trim().split('\n').length > 1;
}

/** The settings of one `cowherd kernel` invocation. */
export class HostSettings {
  private readonly journal: Journal = { pid: process.pid, sysfs: [], swapfile: null };
  private guardian: ReturnType<typeof spawn> | null = null;
  private done = false;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.restore();
    process.kill(process.pid, sig);
  };
  private readonly onExit = () => this.restore();

  constructor(private readonly path = journalPath()) {}

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, JSON.stringify(this.journal));
    if (!this.guardian) this.startGuardian();
  }

  private startGuardian(): void {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'guardian.js');
    if (!existsSync(script)) return;
    this.guardian = spawn(process.execPath, [script, this.path], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.guardian.unref();
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, this.onSignal);
    process.once('exit', this.onExit);
  }

  /** Write `value` to `path` for the run (journaled first). False when it cannot. */
  set(path: string, value: string): boolean {
    const now = readSysfs(path);
    if (now === null) return false;
    const original = sysfsSelected(now);
    if (original === value) return true;
    this.journal.sysfs.push({ path, original });
    this.save();
    return writeSysfs(path, value);
  }

  /** Journal the current value of `path` without changing it (the probe will). */
  guard(path: string): void {
    const now = readSysfs(path);
    if (now === null || this.journal.sysfs.some((c) => c.path === path)) return;
    this.journal.sysfs.push({ path, original: sysfsSelected(now) });
    this.save();
  }

  /**
   * Make sure a swap device exists: a swap file under the temporary directory.
   * A swap file of ours that is already on is turned off and on again: a
   * folio still in the swap cache when its process exits (under writeback,
   * or on another CPU's LRU batch) keeps its slot until reclaim frees it, and
   * with memory to spare nothing does. A library run filled 160 MB of 256 that
   * way, and past half full the kernel frees swap cache on swap-in
   * (vm_swap_full() in do_swap_page()), which the model's swap device, never
   * half full, does not. swapoff drops those slots.
   */
  ensureSwap(megabytes = 256): string | null {
    const own = this.journal.swapfile;
    if (own && swapActive(own)) {
      for (const cmd of ['swapoff', 'swapon']) {
        const r = spawnSync(cmd, [own], { encoding: 'utf8' });
        if (r.status !== 0)
          return `${cmd} ${own}: ${r.stderr?.trim() || r.error?.message || `exit ${r.status}`}`;
      }
      return null;
    }
    if (swapEnabled()) return null;
    const file = join(tmpdir(), `cowherd-swap-${process.pid}`);
    this.journal.swapfile = file;
    this.save();
    const steps: [string, string[]][] = [
      ['fallocate', ['-l', `${megabytes}M`, file]],
      ['chmod', ['600', file]],
      ['mkswap', [file]],
      ['swapon', [file]],
    ];
    for (const [cmd, args] of steps) {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.status !== 0)
        return `${cmd} ${args.join(' ')}: ${r.stderr?.trim() || r.error?.message || `exit ${r.status}`}`;
    }
    return null;
  }

  /** Put everything back and stop the guardian. */
  restore(): string[] {
    if (this.done) return [];
    this.done = true;
    const failed = restoreJournal(this.journal);
    rmSync(this.path, { force: true });
    process.removeListener('exit', this.onExit);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.removeListener(sig, this.onSignal);
    if (this.guardian) {
      this.guardian.stdin?.end();
      this.guardian = null;
    }
    return failed;
  }
}
