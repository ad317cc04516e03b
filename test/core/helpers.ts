/** Small drivers for core tests: a v6.18 kernel, one process, typed access helpers. */

import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { spawnInit } from '../../src/core/kernel/fork.js';
import { pteTable } from '../../src/core/mm/memory/pgtable.js';
import {
  do_mmap,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../src/core/mm/mmap.js';
import type { Mm, State, Task } from '../../src/core/mm_types.js';
import { mmOf, newState } from '../../src/core/mm_types.js';
import type {
  Config,
  DecisionRecord,
  EraId,
  Kernel,
  Policy,
  PtStrategy,
} from '../../src/core/points.js';
import { sequentialKernel } from '../../src/core/points.js';
import { v6_18 } from '../../src/policy/eras/v6.18.js';
import { eraInfo } from '../../src/policy/registry.js';

export interface World {
  s: State;
  k: Kernel;
  log: DecisionRecord[];
  init: Task;
}

export function world(config: Partial<Config> = {}): World {
  const s = newState();
  const log: DecisionRecord[] = [];
  const k = sequentialKernel(
    {
      policy: v6_18,
      ptStrategy: 'pt-reclaim',
      lruBatching: false,
      lockBreaks: false,
      ptWalkSteps: false,
      reclaimRaces: false,
      ...config,
    },
    log,
  );
  const init = spawnInit(s);
  return { s, k, log, init };
}

export function mmOfTask(w: World, t: Task): Mm {
  return mmOf(w.s, t.mm);
}

export function mapAnon(
  w: World,
  t: Task,
  addr: number,
  len: number,
  shared = false,
  prot = PROT_READ | PROT_WRITE,
): number {
  const ret = do_mmap(
    w.s,
    w.k,
    mmOfTask(w, t),
    addr,
    len,
    prot,
    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED,
  );
  if (ret < 0) throw new Error(`mmap failed: ${ret}`);
  return ret;
}

export function write(w: World, t: Task, addr: number, value: number) {
  return userAccess(w.s, w.k, mmOfTask(w, t), addr, value);
}

export function read(w: World, t: Task, addr: number) {
  return userAccess(w.s, w.k, mmOfTask(w, t), addr);
}

export function expectSound(w: World): void {
  const v = checkInvariants(w.s);
  if (v.length > 0)
    throw new Error(`invariants broken:\n${v.map((x) => `${x.code} ${x.detail}`).join('\n')}`);
}

/** A world running the rules of era `id`, with that era's page-table strategy. */
export function eraWorld(id: EraId): World {
  const policy = eraInfo(id)!.policy!;
  return world({ policy, ptStrategy: policy.ptStrategy });
}

/** The 2 MiB-aligned arena of the page-table tests. */
export const ARENA = 0x7e0000200000;
export const ARENA_LEN = 2 * 1024 * 1024;

/** A world under `ptStrategy` (on `policy`'s era) with the arena mapped and its first page touched: its PTE table exists. */
export function ptArena(ptStrategy: PtStrategy, policy: Policy = v6_18) {
  const w = world({ ptStrategy, policy });
  mapAnon(w, w.init, ARENA, ARENA_LEN);
  write(w, w.init, ARENA, 1);
  const mm = mmOfTask(w, w.init);
  return { w, mm, table: pteTable(w.s, mm, ARENA) };
}
