/**
 * The workload files at the size they ship (workloads/*-seed*.cow, malloc-churn):
 * usemem-seed000's 24.4 M COW faults and forceswap-seed003's 10^6 rounds,
 * under the eras the seeds compare. What they count is checked against what
 * the workload implies, not against a figure written here.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload, simulate } from '../../src/sim/sim.js';

function sim(file: string, era: string) {
  const w = parseWorkload(readFileSync(file, 'utf8'), file);
  checkWorkload(w);
  return simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 1 });
}

describe('seed workloads at full scale', () => {
  it('usemem-seed000: every child copies every page; up to v5.8 each copy walks the THP', () => {
    const pages = Math.ceil(959297984 / 4096);
    for (const era of ['v5.8', 'v5.9']) {
      const r = sim('workloads/usemem-seed000.cow', era);
      expect(r.kind).toBe('done');
      expect(r.holds).toBe(true);
      expect(r.counters.anon_wp_copy_count).toBe(104 * pages);
      // 457 THPs, split once in each of the 104 children.
      expect(r.counters.thp_split_pmd).toBe(104 * Math.floor(pages / 512));
      const loop = r.work.do_wp_page?.subpage_iter ?? 0;
      if (era === 'v5.8') expect(loop).toBe(104 * Math.floor(pages / 512) * 512 * 512);
      else expect(loop).toBe(0);
    }
  });

  it('forceswap-seed003: 10^6 rounds, each write copying or reusing the page', () => {
    const r = sim('workloads/forceswap-seed003.cow', 'v5.18');
    expect(r.kind).toBe('done');
    expect(r.holds).toBe(true);
    expect(r.counters.pswpout).toBe(1_000_000);
    expect((r.counters.anon_wp_copy_count ?? 0) + (r.counters.anon_wp_reuse ?? 0)).toBe(1_000_000);
  });

  it('sparse-1t-seed004: 2 GiB of PTE tables and 4 MiB of PMD tables; PT_RECLAIM frees the PTE tables on MADV_DONTNEED', () => {
    const pteKb = (2 ** 40 / 2 ** 21) * 4;
    const pmdKb = (2 ** 40 / 2 ** 30) * 4;
    for (const [era, dontneed] of [
      ['v6.18', pmdKb + 8],
      ['v6.2', pteKb + pmdKb + 8],
    ] as const) {
      const r = sim('workloads/sparse-1t-seed004.cow', era);
      expect(r.kind).toBe('done');
      expect(r.holds).toBe(true);
      expect(r.regs.touched).toBe(pteKb + pmdKb + 8);
      expect(r.regs.dontneed, era).toBe(dontneed);
      expect(r.regs.unmapped).toBe(0);
    }
  });

  it('malloc-churn: 10^7 allocations leave a PTE table in every slot; purging whole extents lets PT_RECLAIM free them', () => {
    // 64 GiB arena of 32,768 slots: a PTE table per slot, 64 PMD tables, one PUD table.
    const pmdAndPud = 64 * 4 + 4;
    const churn = sim('workloads/malloc-churn.cow', 'v6.18');
    expect(churn.kind).toBe('done');
    expect(churn.holds).toBe(true);
    expect(churn.counters.pgfault).toBe(4 * 10_000_000);
    expect(churn.vmpte.final).toBe(32_768 * 4 + pmdAndPud);
    expect(churn.phases).toHaveLength(1000);
    // VmPTE grows while the first 32,768 operations visit new slots, then stays.
    expect(churn.phases[0]!.vmpte).toBeLessThan(churn.phases[9]!.vmpte);
    expect(churn.phases[9]!.vmpte).toBe(churn.vmpte.final);
    const purge = sim('workloads/malloc-churn-purge.cow', 'v6.18');
    expect(purge.holds).toBe(true);
    // The 4,096 live objects, one per slot, keep their tables; every other purge frees one.
    expect(purge.vmpte.final).toBe(4_096 * 4 + pmdAndPud);
    expect(purge.counters.pt_reclaim_pte).toBe(10_000_000 - 4_096);
  });
});
