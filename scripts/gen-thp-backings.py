#!/usr/bin/env python3
"""Writes the thp-pmd backing of the 14 anonymous cow.c cases
(scenarios/cow/cow-anon-*-thp.cow) from their base-page files.

cow.c run_with_thp() with THP_RUN_PMD: a 2 MiB-aligned MADV_HUGEPAGE area,
filled with memset(1) so that one PMD maps a THP. The test bodies are the
base cases' unchanged. Expectations are not the model's: M / R1 / R2 / C come
from the "pmd" rows of research/scenario-catalog.md §3 (M = v5.19+, R1 =
v5.9-v5.17, R2 = v5.18, C = v5.7); v5.8 and the proposals are derived in
the comment of each case (the THP rule of the kernel each is built on).

Run: python3 scripts/gen-thp-backings.py   (rewrites the -thp files)
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent / 'scenarios' / 'cow'

ALL_NEVER = """  v5.7, v5.8, v5.9, v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [der]
  foll-break-cow, full-accuracy, linus-rules, wait-for-gup: Never [der]"""

# case -> (why, expectation block)
CASES = {
    'fork-basic': ('all groups PASS in every era (catalogue 3.1).', ALL_NEVER),
    'fork-basic-mprotect': ('all groups PASS in every era (catalogue 3.2).', ALL_NEVER),
    'vmsplice-child-unmap': (
        'pmd: C and R1 FAIL-leak (do_huge_pmd_wp_page() reuses by mapcount), R2 and M PASS '
        '(catalogue 3.3). v5.8: GUP breaks COW in the child first; foll-break-cow takes the present page as it is. '
        'full-accuracy and wait-for-gup keep v5.9\'s THP rule (mapcount; the wait is a PTE-level rule): leak. '
        'linus-rules: page_count.',
        """  v5.7: Always [der]
  v5.8: Never [der]
  v5.9: Always [obs]
  v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [obs]
  # foll-break-cow, as posted (v3): the forced COW break adds FOLL_BREAK_COW, not
  # FOLL_WRITE, and follow_page_pte() tests FOLL_WRITE only, so GUP takes the
  # present read-only page without breaking COW, as v5.7 did.
  foll-break-cow: Always [der]
  full-accuracy, wait-for-gup: Always [der]
  linus-rules: Never [der]"""),
    'vmsplice-child-unmap-mprotect': (
        'as vmsplice-child-unmap (catalogue 3.4: same table as 3.3).',
        """  v5.7: Always [der]
  v5.8: Never [der]
  v5.9: Always [der]
  v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [der]
  # foll-break-cow, as posted (v3): the forced COW break adds FOLL_BREAK_COW, not
  # FOLL_WRITE, and follow_page_pte() tests FOLL_WRITE only, so GUP takes the
  # present read-only page without breaking COW, as v5.7 did.
  foll-break-cow: Always [der]
  full-accuracy, wait-for-gup: Always [der]
  linus-rules: Never [der]"""),
    'vmsplice-parent-before-fork': (
        'pmd: C and R1 FAIL-leak (the child, sole mapper, reuses by mapcount), R2 and M PASS '
        '(catalogue 3.5). v5.8: the parent\'s vmsplice breaks COW on an exclusive THP (reuse), '
        'so the pipe still holds the THP the child reuses: leak, as for the base page. '
        'full-accuracy and wait-for-gup: mapcount at the PMD: leak. linus-rules: page_count.',
        """  v5.7, v5.8: Always [der]
  v5.9: Always [der]
  v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [obs]
  foll-break-cow: Always [der]
  full-accuracy, wait-for-gup: Always [der]
  linus-rules: Never [der]"""),
    'vmsplice-parent-after-fork': (
        'pmd: C and R1 FAIL-leak, R2 and M PASS (catalogue 3.6). v5.8: the parent\'s vmsplice '
        'breaks COW (split, a copy of one page), so the pipe holds the parent\'s copy: no leak. '
        'full-accuracy and wait-for-gup: mapcount at the PMD: leak. linus-rules: page_count.',
        """  v5.7: Always [der]
  v5.8: Never [der]
  v5.9: Always [der]
  v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [obs]
  # foll-break-cow, as posted (v3): the forced COW break adds FOLL_BREAK_COW, not
  # FOLL_WRITE, and follow_page_pte() tests FOLL_WRITE only, so GUP takes the
  # present read-only page without breaking COW, as v5.7 did.
  foll-break-cow: Always [der]
  full-accuracy, wait-for-gup: Always [der]
  linus-rules: Never [der]"""),
    'iouring-ro-remap': (
        'pmd: M, R1 ("PMD path still mapcount") and C PASS, R2 FAIL-desync (catalogue 3.7). '
        'v5.8, foll-break-cow, full-accuracy, wait-for-gup: mapcount at the PMD: reuse. '
        'linus-rules: mprotect() may not write-protect a page with page_count() != 1 (rule (c)), '
        'as for the base page.',
        """  v5.7, v5.8: Never [der]
  v5.9: Never [der]
  v5.18: Always [der]
  v5.19, v6.2, v6.18: Never [obs]
  foll-break-cow, full-accuracy, wait-for-gup: Never [der]
  linus-rules: Never [der]"""),
    'iouring-fork': (
        'pmd: M, R1, R2 PASS (fork copies pinned pages, splitting the PMD first), C FAIL-desync '
        '(catalogue 3.8). v5.8 and foll-break-cow have no pin check at fork: as C. '
        'full-accuracy and wait-for-gup keep v5.9\'s fork; linus-rules copies at fork (rule (c)).',
        """  v5.7, v5.8: Always [der]
  v5.9: Never [der]
  v5.18: Never [der]
  v5.19, v6.2, v6.18: Never [obs]
  foll-break-cow: Always [der]
  full-accuracy, wait-for-gup, linus-rules: Never [der]"""),
    'ro-pin-shared': (
        'all groups: M PASS (unshare before pin), R1, R2, C FAIL-desync (catalogue 3.9). '
        'v5.8: the R/O pin breaks COW first [unc, as for the base page]; foll-break-cow pins the present page as it is. '
        'The proposals pin the shared THP as R1 does.',
        """  v5.7: Always [der]
  v5.8: Never [unc]
  v5.9, v5.18: Always [der]
  v5.19, v6.2: Never [der]
  v6.18: Never [obs]
  # foll-break-cow, as posted (v3): the forced COW break adds FOLL_BREAK_COW, not
  # FOLL_WRITE, and follow_page_pte() tests FOLL_WRITE only, so GUP takes the
  # present read-only page without breaking COW, as v5.7 did.
  foll-break-cow: Always [der]
  full-accuracy, linus-rules, wait-for-gup: Always [der]"""),
    'ro-pin-fast-shared': (
        'as ro-pin-shared (catalogue 3.10).',
        """  v5.7: Always [der]
  v5.8: Never [unc]
  v5.9, v5.18: Always [der]
  v5.19, v6.2: Never [der]
  v6.18: Never [obs]
  # foll-break-cow, as posted (v3): the forced COW break adds FOLL_BREAK_COW, not
  # FOLL_WRITE, and follow_page_pte() tests FOLL_WRITE only, so GUP takes the
  # present read-only page without breaking COW, as v5.7 did.
  foll-break-cow: Always [der]
  full-accuracy, linus-rules, wait-for-gup: Always [der]"""),
    'ro-pin-prev-shared': (
        'pmd: M, R1 ("PMD reuse by mapcount"), C PASS, R2 FAIL-desync (catalogue 3.11). '
        'v5.8, foll-break-cow: the pin breaks COW on a THP mapped once: reuse. full-accuracy, '
        'wait-for-gup: mapcount at the PMD. linus-rules: page_count: the pin\'s reference '
        'makes the write copy.',
        """  v5.7, v5.8: Never [der]
  v5.9: Never [der]
  v5.18: Always [der]
  v5.19, v6.2, v6.18: Never [der]
  foll-break-cow, full-accuracy, wait-for-gup: Never [der]
  linus-rules: Always [der]"""),
    'ro-pin-fast-prev-shared': (
        'as ro-pin-prev-shared (catalogue 3.12).',
        """  v5.7, v5.8: Never [der]
  v5.9: Never [der]
  v5.18: Always [der]
  v5.19, v6.2, v6.18: Never [der]
  foll-break-cow, full-accuracy, wait-for-gup: Never [der]
  linus-rules: Always [der]"""),
    'ro-pin-exclusive': (
        'pmd: M, R1, C PASS, R2 FAIL-desync (catalogue 3.13); the proposals as for '
        'ro-pin-prev-shared.',
        """  v5.7, v5.8: Never [der]
  v5.9: Never [der]
  v5.18: Always [der]
  v5.19, v6.2, v6.18: Never [der]
  foll-break-cow, full-accuracy, wait-for-gup: Never [der]
  linus-rules: Always [der]"""),
    'ro-pin-fast-exclusive': (
        'as ro-pin-exclusive (catalogue 3.14).',
        """  v5.7, v5.8: Never [der]
  v5.9: Never [der]
  v5.18: Always [der]
  v5.19, v6.2, v6.18: Never [der]
  foll-break-cow, full-accuracy, wait-for-gup: Never [der]
  linus-rules: Always [der]"""),
}

HEADER = """# thp-pmd backing (cow.c "... with THP (2048 kB)", run_with_thp(THP_RUN_PMD)):
# the case below on a 2 MiB-aligned MADV_HUGEPAGE area filled with 1, so one
# huge PMD maps a THP and the first fault of each step is do_huge_pmd_*().
# Expected, per era:
# {why}
# Generated by scripts/gen-thp-backings.py from the base-page file.
#
"""

SETUP_OLD = "  mmap mem pages=1 private rw\n  write mem[0] = 1\n"
SETUP_NEW = "  mmap mem len=2M private rw at=0x40000000\n  madvise mem hugepage\n  write mem = 1\n"


def wrap(text, width=76):
    words, lines, cur = text.split(), [], ''
    for w in words:
        if len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f'{cur} {w}' if cur else w
    lines.append(cur)
    return '\n# '.join(lines)


PTE_BACKINGS = {
    # cow.c run_with_pte_mapped_thp(): mprotect() of the second page splits the PMD.
    'thp-pte': (
        'PTE-mapped THP (cow.c "... with PTE-mapped THP (2048 kB)", run_with_pte_mapped_thp()): '
        'mprotect(R) then mprotect(RW) of the second page splits the PMD, so 512 PTEs map the THP',
        '  mprotect mem[1] r\n  mprotect mem[1] rw\n',
    ),
    # cow.c run_with_single_pte_of_thp(): MADV_DONTNEED of all but the first page.
    'thp-1pte': (
        'single PTE of a THP (cow.c "... with single PTE of THP (2048 kB)", run_with_single_pte_of_thp()): '
        'MADV_DONTNEED of all but the first page, so one PTE maps one page of the THP',
        '  madvise mem[1..512] dontneed\n',
    ),
    # cow.c run_with_partial_shared_thp(): only the first page was shared with a child.
    'thp-pshared': (
        'partially shared THP (cow.c "... with partially shared THP (2048 kB)", '
        'run_with_partial_shared_thp()): MADV_DONTFORK of all but the first page, fork, the '
        'child exits, MADV_DOFORK: the first page was shared, the others never were',
        '  madvise mem[1..512] dontfork\n  fork pshared\n  wait pshared\n  madvise mem[1..512] dofork\n',
    ),
    # cow.c run_with_partial_mremap_thp(): the upper half moves onto a fresh PROT_NONE area.
    'thp-mremap': (
        'partially mremap()ed THP (cow.c "... with partially mremap()\'ed THP (2048 kB)", '
        'run_with_partial_mremap_thp()): the upper half is moved with MREMAP_FIXED onto a fresh '
        'PROT_NONE area, which splits the PMD; the test runs on the lower half',
        '  mmap mremap_dst len=1M private none at=0x50000000\n  mremap mem[256..512] onto mremap_dst\n',
    ),
}

LINUS_THP_PTE = (
    '  linus-rules: Always [der]\n',
    "  # linus-rules on a PTE-mapped THP: page_count() of every page is the folio's\n"
    '  # (512 and more), so rule (c) lets neither fork, mprotect() nor clear_refs\n'
    '  # write-protect it: the page stays mapped writable and the pin coherent.\n'
    '  linus-rules: Never [der]\n',
)
OVERRIDES = {
    (sfx, c): LINUS_THP_PTE
    for sfx in ['thp-pte', 'thp-pshared', 'thp-mremap']
    for c in [
        'ro-pin-shared',
        'ro-pin-fast-shared',
        'ro-pin-prev-shared',
        'ro-pin-fast-prev-shared',
        'ro-pin-exclusive',
        'ro-pin-fast-exclusive',
    ]
}

# The eras whose write fault asks reuse_swap_page() (mapcount based: v5.7,
# v5.8 and the proposals built on them) look at a page of a THP through
# page_trans_huge_map_swapcount(), which takes the largest mapcount of any of
# its 512 pages. In the partially mremap()ed backing the upper half is still
# mapped by parent and child, so the write copies where the base page reuses.
MREMAP_WHY = (
    '  # reuse_swap_page() -> page_trans_huge_map_swapcount() (mm/swapfile.c up to\n'
    '  # v5.17): the busiest page of the THP counts, and the mremap()ed upper\n'
    '  # half is still mapped by parent and child: 2, so the write copies.\n'
)
MREMAP_SUBPAGE_LOOP = {
    ('thp-mremap', 'vmsplice-child-unmap'): ['v5.7', 'foll-break-cow', 'full-accuracy'],
    ('thp-mremap', 'vmsplice-child-unmap-mprotect'): ['v5.7', 'foll-break-cow', 'full-accuracy'],
    ('thp-mremap', 'vmsplice-parent-after-fork'): ['v5.7', 'foll-break-cow', 'full-accuracy'],
    ('thp-mremap', 'vmsplice-parent-before-fork'): ['v5.7', 'v5.8', 'foll-break-cow', 'full-accuracy'],
}

PTE_HEADER = """# {what}.
# The test body is the base page's, on the first page. Expected, per era: the
# base page's verdicts (research/scenario-catalog.md §3 puts this backing in
# the "pte" group with the base page), except where the expect block says why.
# Generated by scripts/gen-thp-backings.py from the base-page file.
#
"""


def backing(case, suffix, setup, header, expect=None):
    base = (ROOT / f'cow-anon-{case}.cow').read_text()
    assert SETUP_OLD in base, case
    body = base.replace(SETUP_OLD, setup)
    if suffix != 'thp':
        # The test runs on the first page only (cow.c: size = pagesize for thp-1pte).
        body = body.replace('  iouring register mem -> buf\n', '  iouring register mem[0] -> buf\n')
    body = re.sub(r'^scenario (\S+)$', rf'scenario \1-{suffix}', body, count=1, flags=re.M)
    what = {
        'thp': 'PMD-mapped THP',
        'thp-pte': 'PTE-mapped THP',
        'thp-1pte': 'single PTE of a THP',
        'thp-pshared': 'partially shared THP',
        'thp-mremap': 'partially mremap()ed THP',
        'thp-swap': 'swapped-out THP',
        'thp-pte-swap': 'swapped-out PTE-mapped THP',
        'thp-1pte-swap': 'single PTE of a swapped-out THP',
    }[suffix]
    if suffix == 'thp-pshared':
        body += '\n# The child of the backing: forked and gone before the test starts.\nthread pshared {\n  exit\n}\n'
    body = re.sub(r'^doc "(.*)"$', rf'doc "\1 ({what})"', body, count=1, flags=re.M)
    body = re.sub(r'^(cite "tools/testing/selftests/mm/cow.c [^;"]*)', r'\1 with run_with_thp()', body, count=1, flags=re.M)
    for (sfx, c), (old, new) in OVERRIDES.items():
        if sfx == suffix and c == case:
            assert old in body, (case, suffix)
            body = body.replace(old, new)
    if expect is not None:
        body = re.sub(r'^expect \{\n.*?^\}\n', 'expect {\n' + expect + '\n}\n', body, count=1, flags=re.M | re.S)
    for n, era in enumerate(MREMAP_SUBPAGE_LOOP.get((suffix, case), [])):
        line = re.compile(rf'^  {re.escape(era)}: Always \[\w+\]$', re.M)
        assert line.search(body), (case, suffix, era)
        why = MREMAP_WHY if n == 0 else '  # (page_trans_huge_map_swapcount(), as above)\n'
        body = line.sub(f'{why}  {era}: Never [der]', body, count=1)
    (ROOT / f'cow-anon-{case}-{suffix}.cow').write_text(header + body)
    print(f'wrote cow-anon-{case}-{suffix}.cow')


SWAP_BACKINGS = {
    'thp-swap': (
        'swapped-out THP (cow.c "... with swapped-out THP (2048 kB)"): MADV_PAGEOUT of the whole THP',
        '  madvise mem pageout\n',
    ),
    'thp-pte-swap': (
        'swapped-out, PTE-mapped THP (cow.c "... with swapped-out, PTE-mapped THP (2048 kB)")',
        '  mprotect mem[1] r\n  mprotect mem[1] rw\n  madvise mem pageout\n',
    ),
    'thp-1pte-swap': (
        'single PTE of a swapped-out THP (cow.c "... with single PTE of swapped-out THP (2048 kB)")',
        '  madvise mem[1..512] dontneed\n  madvise mem pageout\n',
    ),
}

SWAP_HEADER = """# {what}.
# The model has no THP swap-out: MADV_PAGEOUT splits the PMD and the folio
# (split_folio(), as after add_to_swap() failed for the whole THP) and swaps
# the pages out one by one, so the test body starts from swap PTEs as with a
# base page. Expected, per era: the base-swap case's verdicts
# (research/scenario-catalog.md §3 puts this backing in the "swap" group).
# Generated by scripts/gen-thp-backings.py from the base-page file.
#
"""


def expect_block(text):
    return re.search(r'^expect \{\n(.*?)^\}\n', text, flags=re.M | re.S).group(1).rstrip('\n')


for case, (why, expect) in CASES.items():
    backing(case, 'thp', SETUP_NEW, HEADER.format(why=wrap(why)), expect)
    swap_expect = expect_block((ROOT / f'cow-anon-{case}-swap.cow').read_text())
    for suffix, (what, extra) in SWAP_BACKINGS.items():
        backing(case, suffix, SETUP_NEW + extra, SWAP_HEADER.format(what=wrap(what)), swap_expect)
    for suffix, (what, extra) in PTE_BACKINGS.items():
        backing(case, suffix, SETUP_NEW + extra, PTE_HEADER.format(what=wrap(what)))
