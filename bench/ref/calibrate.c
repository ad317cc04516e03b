/*
 * Unit costs for cowherd sim's cost model (docs/sim.md "Cost model"),
 * measured on the running machine and kernel. Two kinds of figures:
 *
 *  - units the work account counts, timed in user space where the CPU does
 *    the same thing the kernel does: a 4 KiB page zeroed or copied, a
 *    struct-page-sized record read cold and hot, an atomic add on a private
 *    and on a shared cache line, a lock taken and released;
 *  - whole kernel paths, timed from user space: a first-touch anonymous
 *    fault, a COW fault, a reuse fault, a THP fault, a write fault on a THP
 *    a fork shares (PMD split and one page copied), fork() and munmap() of
 *    a populated range. The cost model subtracts the priced work of each from
 *    its time to get the path's fixed cost (entry, walk, accounting);
 *  - a page-table page allocated (a first touch one PTE table apart, less a
 *    dense first touch) and freed (munmap() of those tables, less a dense
 *    munmap() per page).
 *
 * Every figure is measured `reps` times; one JSON line gives, per figure,
 * the median, the quartiles (lo, hi) and the extremes (min, max) in
 * nanoseconds per unit.
 *
 *  - with `swap` (a swap device must be on): MADV_PAGEOUT of one page per
 *    call, and the swap-in fault after it.
 *
 * Usage: calibrate [reps] [pages] [swap]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L
#define LINE 64L
#define THP (2L << 20)
#define MAXREPS 64

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int first = 1;

static void report(const char *name, double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	/* lo and hi: the 25th and 75th percentiles (nearest rank); min and max for the record. */
	printf("%s\"%s\":{\"median\":%.3f,\"lo\":%.3f,\"hi\":%.3f,\"min\":%.3f,\"max\":%.3f}",
	       first ? "" : ",", name, v[n / 2], v[(n - 1) / 4], v[(3 * (n - 1) + 3) / 4], v[0],
	       v[n - 1]);
	first = 0;
}

static char *area(long bytes, int huge)
{
	char *p = mmap(NULL, bytes + (huge ? THP : 0), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (huge) {
		p = (char *)(((uintptr_t)p + THP - 1) & ~(THP - 1));
		madvise(p, bytes, MADV_HUGEPAGE);
	} else {
		madvise(p, bytes, MADV_NOHUGEPAGE);
	}
	return p;
}

static volatile uint64_t sink;

/* A page zeroed (clear_page) and copied (copy_page), over a range larger than the caches. */
static double page_zero(char *a, long pages)
{
	double t = now();
	for (long i = 0; i < pages; i++)
		memset(a + i * PAGE, 0, PAGE);
	return (now() - t) / pages;
}

static double page_copy(char *dst, char *src, long pages)
{
	double t = now();
	for (long i = 0; i < pages; i++)
		memcpy(dst + i * PAGE, src + i * PAGE, PAGE);
	return (now() - t) / pages;
}

/*
 * 512 struct-page-sized records (a THP's struct pages, 32 KiB) read in
 * order, as page_trans_huge_map_swapcount() does: `cold` picks a block not
 * touched for a while out of a range larger than the caches, hot re-reads
 * one block.
 */
static double lines(char *a, long bytes, int cold)
{
	long blocks = bytes / (512 * LINE), n = 0;
	uint64_t s = 0, x = 88172645463325252ULL;
	double t = now();
	for (int r = 0; r < 2000; r++) {
		long b = 0;
		if (cold) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b = (long)(x % (uint64_t)blocks);
		}
		const char *p = a + b * 512 * LINE;
		for (int i = 0; i < 512; i++)
			s += *(const volatile int *)(p + i * LINE);
		n += 512;
	}
	sink = s;
	return (now() - t) / n;
}

static double atomic_private(void)
{
	static uint64_t v __attribute__((aligned(64)));
	long n = 10 * 1000 * 1000;
	double t = now();
	for (long i = 0; i < n; i++)
		__atomic_fetch_add(&v, 1, __ATOMIC_SEQ_CST);
	return (now() - t) / n;
}

static uint64_t shared __attribute__((aligned(64)));
static volatile int go, stop_;

static void *hammer(void *arg)
{
	(void)arg;
	while (!go)
		;
	while (!stop_)
		__atomic_fetch_add(&shared, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* An atomic add on a line another CPU keeps writing (a THP head's refcount under usemem). */
static double atomic_shared(void)
{
	pthread_t th;
	long n = 2 * 1000 * 1000;
	go = 0, stop_ = 0;
	pthread_create(&th, NULL, hammer, NULL);
	go = 1;
	double t = now();
	for (long i = 0; i < n; i++)
		__atomic_fetch_add(&shared, 1, __ATOMIC_SEQ_CST);
	double d = (now() - t) / n;
	stop_ = 1;
	pthread_join(th, NULL);
	return d;
}

/* A lock taken and released, uncontended (the PTE lock, a folio lock). */
static double lock_pair(void)
{
	pthread_spinlock_t l;
	long n = 10 * 1000 * 1000;
	pthread_spin_init(&l, 0);
	double t = now();
	for (long i = 0; i < n; i++) {
		pthread_spin_lock(&l);
		pthread_spin_unlock(&l);
	}
	return (now() - t) / n;
}

/* Kernel paths, per fault (or per page for fork and munmap). */
struct paths {
	double anon, cow, reuse, thp, thp_cow, fork_page, munmap_page;
};

static void kernel_paths(long pages, struct paths *out)
{
	char *m = area(pages * PAGE, 0);
	int fd[2];
	double t;

	if (pipe(fd))
		exit(1);
	t = now();
	for (long i = 0; i < pages; i++)
		m[i * PAGE] = 1;
	out->anon = (now() - t) / pages;

	t = now();
	pid_t pid = fork();
	if (pid == 0) {
		double tc = now();
		for (long i = 0; i < pages; i++)
			m[i * PAGE] = 2;
		double cow = (now() - tc) / pages;
		if (write(fd[1], &cow, sizeof(cow)) != sizeof(cow))
			_exit(1);
		_exit(0);
	}
	out->fork_page = (now() - t) / pages;
	if (read(fd[0], &out->cow, sizeof(out->cow)) != sizeof(out->cow))
		exit(1);
	waitpid(pid, NULL, 0);
	/* The child is gone: the parent's PTEs are read-only and it is the only mapper. */
	t = now();
	for (long i = 0; i < pages; i++)
		m[i * PAGE] = 3;
	out->reuse = (now() - t) / pages;
	t = now();
	munmap(m, pages * PAGE);
	out->munmap_page = (now() - t) / pages;
	close(fd[0]);
	close(fd[1]);

	long thps = pages / 512 > 0 ? pages / 512 : 1;
	char *h = area(thps * THP, 1);
	t = now();
	for (long i = 0; i < thps; i++)
		h[i * THP] = 1;
	out->thp = (now() - t) / thps;
	/*
	 * A write fault on a THP a fork shares (the child writes one page of
	 * each): do_huge_pmd_wp_page(), which on 6.18 splits the PMD and falls
	 * back to do_wp_page()'s copy of the one page.
	 */
	if (pipe(fd))
		exit(1);
	pid = fork();
	if (pid == 0) {
		double tc = now();
		for (long i = 0; i < thps; i++)
			h[i * THP] = 2;
		double cow = (now() - tc) / thps;
		if (write(fd[1], &cow, sizeof(cow)) != sizeof(cow))
			_exit(1);
		_exit(0);
	}
	if (read(fd[0], &out->thp_cow, sizeof(out->thp_cow)) != sizeof(out->thp_cow))
		exit(1);
	waitpid(pid, NULL, 0);
	close(fd[0]);
	close(fd[1]);
	munmap(h, thps * THP);
}

/*
 * Page-table pages: first touches one PTE table apart, each of which
 * allocates (and zeroes) a PTE table, and the munmap() that frees them. What
 * a table costs is the difference with the dense first touch and the dense
 * munmap of the same rep (`anon`, `munmap_page`, ns per page).
 */
static void pt_paths(long slots, double anon, double munmap_page, double *alloc, double *freed)
{
	char *s = mmap(NULL, slots * THP, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t, per;

	if (s == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(s, slots * THP, MADV_NOHUGEPAGE);
	t = now();
	for (long i = 0; i < slots; i++)
		s[i * THP] = 1;
	per = (now() - t) / slots;
	*alloc = per > anon ? per - anon : 0;
	t = now();
	munmap(s, slots * THP);
	per = (now() - t) / slots;
	*freed = per > munmap_page ? per - munmap_page : 0;
}

/*
 * The swap paths, on one page (forceswap's loop): MADV_PAGEOUT (per call,
 * one folio reclaimed: unmap, swap slot, write submitted) and the faults of
 * the read and write after it (swap-in from the swap cache; per fault, as
 * getrusage() counts them). Only with a swap device (`swap` argument).
 */
static void swap_paths(long rounds, double *pageout, double *swapin)
{
	volatile char *p = (volatile char *)area(PAGE, 0);
	struct rusage a, b;
	double tp = 0, ts = 0;
	long faults;

	p[0] = 1;
	getrusage(RUSAGE_SELF, &a);
	for (long i = 0; i < rounds; i++) {
		double t0 = now(), t1, t2;
		char c;

		madvise((void *)p, PAGE, MADV_PAGEOUT);
		t1 = now();
		c = p[0];
		p[0] = c + 1;
		t2 = now();
		tp += t1 - t0;
		ts += t2 - t1;
	}
	getrusage(RUSAGE_SELF, &b);
	faults = (b.ru_minflt - a.ru_minflt) + (b.ru_majflt - a.ru_majflt);
	*pageout = tp / rounds;
	*swapin = faults > 0 ? ts / faults : 0;
	munmap((void *)p, PAGE);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 7;
	long pages = argc > 2 ? atol(argv[2]) : 65536;
	long big = 256L << 20; /* larger than the caches */
	int swap = argc > 3 && !strcmp(argv[3], "swap");
	double v[18][MAXREPS];
	if (reps < 1 || reps > MAXREPS)
		return 2;
	char *a = area(big, 0), *b = area(big, 0);
	memset(a, 1, big);
	memset(b, 1, big);
	for (int r = 0; r < reps; r++) {
		struct paths p;
		v[0][r] = page_zero(a, big / PAGE);
		v[1][r] = page_copy(b, a, big / PAGE);
		v[2][r] = lines(a, big, 1);
		v[3][r] = lines(a, big, 0);
		v[4][r] = atomic_private();
		v[5][r] = atomic_shared();
		v[6][r] = lock_pair();
		kernel_paths(pages, &p);
		v[7][r] = p.anon;
		v[8][r] = p.cow;
		v[9][r] = p.reuse;
		v[10][r] = p.thp;
		v[11][r] = p.fork_page;
		v[12][r] = p.munmap_page;
		v[17][r] = p.thp_cow;
		pt_paths(4096, p.anon, p.munmap_page, &v[13][r], &v[14][r]);
		if (swap)
			swap_paths(20000, &v[15][r], &v[16][r]);
	}
	static const char *names[] = {
		"page_zero", "page_copy", "line_cold", "line_hot", "atomic", "atomic_shared",
		"lock", "fault_anon", "fault_cow", "fault_reuse", "fault_thp", "fork_per_page",
		"munmap_per_page", "pt_alloc", "pt_free", "reclaim_per_folio", "fault_swapin",
		"fault_thp_cow",
	};
	static const int order[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 11, 12, 13, 14, 15, 16 };
	printf("{\"reps\":%d,\"pages\":%ld,\"ns\":{", reps, pages);
	for (int i = 0; i < (swap ? 18 : 16); i++)
		report(names[order[i]], v[order[i]], reps);
	printf("}}\n");
	return 0;
}
