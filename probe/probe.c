// SPDX-License-Identifier: MIT
/*
 * cowherd kernel probe: runs a scenario, compiled by src/kernel/program.ts
 * into a probe program, on the running kernel with real system calls
 * (docs/adr/0009-kernel-probe.md). Usage: probe PROGRAM RUNS TIMEOUT_MS [CPU]
 *
 * The first process is the coordinator: it maps a shared control page,
 * forks the scenario's initial process for each run, waits until no
 * scenario thread is running, reads the final primitives of the processes
 * (which stay alive until released) and prints one record per run:
 *   run I done|hang|error [message]
 *   R IDX VALUE      (every register)
 *   F IDX VALUE      (every final primitive)
 *   T IDX MINFLT MAJFLT VMPTE_KB START_NS END_NS CPU_NS   (every thread that
 *                    started: its own faults between its start and its end,
 *                    its process's VmPTE at its end, times from the run's
 *                    start, its CPU time; -1 for what a thread that never
 *                    ended did not record)
 *   B VMPTE_KB       (the initial process's VmPTE before the scenario: the
 *                    probe's own page tables)
 * Workloads run loops (`loop`/`next` over the thread's loop variables, read
 * as `lN` in expressions) and take arguments computed when the operation
 * runs (`$T,T,...`, an RPN expression).
 * Scenario threads are processes (fork) and pthreads (spawn); events are
 * futex words in the control page. CPU, when given and not -1, is the one
 * CPU every scenario process starts on (a scenario's sched_setaffinity moves
 * its thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAXT 128
#define MAXEV 256
#define MAXLOC 16 /* loop variables of a thread */
#define MAXMAP 32
#define MAXPIPE 8
#define MAXPIN 8
#define MAXWB 4096 /* PFNs paged out and not yet waited for */

enum state { T_NONE, T_RUNNING, T_FINISHED, T_EXITED };

struct ctl {
	int32_t coord_pid;
	int32_t coord_ready;
	int32_t release;
	int32_t changed;
	int32_t nproc;
	int32_t error;
	int32_t ev[MAXEV];
	int32_t tpid[MAXT];
	int32_t tstate[MAXT];
	int32_t texit[MAXT];
	int32_t tproc[MAXT];
	uint64_t mapaddr[MAXMAP];
	uint64_t maplen[MAXMAP];
	int64_t base_vmpte, base_rssanon, base_rssshmem;
	/* A process that exec'd: its pid and the same baselines, taken in the new image */
	int32_t xpid[MAXT];
	int64_t xbase[MAXT][3];
	int64_t flt_base[2]; /* the initial process's minflt and majflt after warm-up */
	int32_t ksm_noisy;   /* a KSM counter was read while another process had merged pages */
	int32_t nwb;	     /* PFNs MADV_PAGEOUT may have put under writeback */
	uint64_t wbpfn[MAXWB];
	/* Per thread, at its start and at its end: minflt, majflt, VmPTE kB, time, CPU time (ns) */
	int64_t tstat[MAXT][2][5];
	int64_t run_start_ns;
	char errmsg[200];
};

struct tok {
	char kind; /* '#' number, 'r' register, 'p' primitive, 'l' loop variable, 'o' operator */
	int64_t v;
	char op[3];
};

struct op {
	char name[32];
	int64_t a[8];
	int na;
	/* An argument written $T,T,...: an RPN expression evaluated when the operation runs */
	struct tok *ae[8];
	int nae[8];
	struct tok *e;
	int ne;
};

struct prim {
	char kind[24];
	int thread, map, page;
	char name[48];
	int count, step; /* a page primitive over count pages, step apart */
};

struct thread {
	char name[32];
	struct op *ops;
	int nops, cap;
};

static struct ctl *ctl;
/* The memfd that holds ctl, registers and baselines, and the program's path (for exec) */
static int shared_fd = -1;
static const char *prog_path;
/* The operation a thread of this process runs (exec goes on after it) */
static __thread int cur_op;
/* The loop variables of the thread (`repeat i in A..B` of a workload) */
static __thread int64_t loc[MAXLOC];
static struct thread threads[MAXT];
static int nthreads, nregs, nprims;
static struct prim *prims;
static int *finals, nfinals;
/*
 * Registers and the /proc/vmstat baselines, in shared memory as ctl is (sized
 * by the program, so that no scenario is too large for fixed arrays).
 */
static int64_t *regs, *vm_base;
static int pipes[MAXPIPE][2];
static uint64_t zero_pfn, huge_zero_pfn;

/*
 * A long-term R/W pin: an io_uring ring with one registered fixed buffer
 * (io_uring_register(IORING_REGISTER_BUFFERS) pins the pages with
 * FOLL_WRITE | FOLL_LONGTERM, as the model's `pin REF rw longterm` and
 * `iouring register`). The device's side goes through a memfd: READ_FIXED
 * writes the pinned pages, WRITE_FIXED reads them.
 */
struct ring {
	int fd, file;
	uint64_t addr, len;
	uint32_t *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};
static struct ring rings[MAXPIN];
static int files[MAXMAP];
static int uffds[MAXPIN];

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif

/* Where tmpfile() lives for `tmpfile F fs=ext4`: /tmp when it is ext4. */
#define EXT4_SUPER_MAGIC 0xEF53
#define TMPFILE_DIR "/tmp"


static long futex(int32_t *w, int op, int32_t v)
{
	return syscall(SYS_futex, w, op, v, NULL, NULL, 0);
}

/*
 * Scenario processes outlive nothing: if the coordinator is gone (the runner
 * was killed), they exit instead of waiting for a release that never comes.
 */
static void exit_if_orphaned(void)
{
	if (kill(ctl->coord_pid, 0) && errno == ESRCH)
		syscall(SYS_exit_group, 124);
}

/* Wait until *w is non-zero, checking every 100 ms that the coordinator lives. */
static void wait_flag(int32_t *w)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	while (!__atomic_load_n(w, __ATOMIC_SEQ_CST)) {
		syscall(SYS_futex, w, FUTEX_WAIT, 0, &ts, NULL, 0);
		exit_if_orphaned();
	}
}

static void wake_coordinator(void)
{
	__atomic_add_fetch(&ctl->changed, 1, __ATOMIC_SEQ_CST);
	futex(&ctl->changed, FUTEX_WAKE, 1);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&ctl->error, 1, __ATOMIC_SEQ_CST) == 0) {
		va_start(ap, fmt);
		vsnprintf(ctl->errmsg, sizeof(ctl->errmsg), fmt, ap);
		va_end(ap);
	}
	wake_coordinator();
	syscall(SYS_exit_group, 125);
}

/* ---- primitives ---- */

static int64_t pagemap_entry(int pid, uint64_t addr, uint64_t *out)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, out, 8, (off_t)(addr / PAGE) * 8);
	close(fd);
	return n == 8 ? 0 : -1;
}

/*
 * The value after "KEY:" or "KEY " at the start of a line of a /proc file
 * (the first number of the file for an empty key). Read with a stack buffer,
 * not stdio: no allocation, so no page faults of the probe's own in the
 * scenario's counters once the stack is warm.
 */
static int64_t file_field(const char *path, const char *key)
{
	char buf[16384];
	size_t klen = strlen(key);
	ssize_t n;
	char *line;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!klen)
		return strtoll(buf, NULL, 10);
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, key, klen) && (line[klen] == ':' || line[klen] == ' '))
			return strtoll(line + klen + 1, NULL, 10);
	return -1;
}

static int64_t proc_field(int pid, const char *file, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return file_field(path, key);
}

static int64_t vmstat(const char *name)
{
	return file_field("/proc/vmstat", name);
}

static int64_t sysfs_value(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoll(buf, NULL, 10) : -1;
}

static int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value);
}

static int64_t now_ms(void);

/*
 * Field `field` (1-based, as proc(5) numbers them; field 3 is the state) of
 * /proc/PID/stat, as a pointer into `buf`, or NULL when the process is gone.
 */
static char *stat_field_of(const char *path, int field, char *buf, size_t size)
{
	ssize_t n;
	char *p;
	int fd, f;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	/* The command name (field 2) may hold spaces: count from its ')'. */
	p = strrchr(buf, ')');
	for (f = 2; p && f < field; f++)
		p = strchr(p + 1, ' ');
	return p ? p + 1 : NULL;
}

static char *stat_field(int pid, int field, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return stat_field_of(path, field, buf, size);
}

/* Is the process of scenario thread t gone (exited, killed)? Records its status. */
static int thread_gone(int t)
{
	char buf[1024];
	int pid = ctl->tpid[t];
	char *state, *code;

	if (ctl->tstate[t] == T_EXITED)
		return 1;
	if (pid <= 0)
		return 0;
	state = stat_field(pid, 3, buf, sizeof(buf));
	if (!state)
		return 1;
	if (*state != 'Z')
		return 0;
	/* field 52 is the exit status, as waitpid() reports it */
	code = stat_field(pid, 52, buf, sizeof(buf));
	if (code) {
		int st = atoi(code);

		ctl->texit[t] = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	}
	return 1;
}

/* minflt (which 0) or majflt (which 1) of a process: /proc/PID/stat fields 10 and 12. */
static int64_t faults_of(int pid, int which)
{
	char buf[1024];
	char *p = stat_field(pid, which ? 12 : 10, buf, sizeof(buf));

	return p ? strtoll(p, NULL, 10) : 0;
}

/*
 * pgfault and pgmajfault of the scenario's processes (not system-wide): the
 * faults of every live scenario process since it started (the initial one
 * since its warm-up). A process that has exited no longer counts.
 */
static int64_t scenario_faults(int major)
{
	int pids[MAXT], n = 0, t, j;
	int64_t sum = 0;

	for (t = 0; t < nthreads; t++) {
		int pid = ctl->tpid[t];

		if (pid <= 0 || ctl->tstate[t] == T_NONE || thread_gone(t))
			continue;
		for (j = 0; j < n && pids[j] != pid; j++)
			;
		if (j < n)
			continue;
		pids[n++] = pid;
		sum += faults_of(pid, 1);
		if (!major)
			sum += faults_of(pid, 0);
		if (t == 0 || ctl->tproc[t] == 0)
			sum -= ctl->flt_base[1] + (major ? 0 : ctl->flt_base[0]);
	}
	return sum;
}

static int64_t range_value(const struct prim *pr, int pid, uint64_t addr);

/*
 * Does a process outside the scenario have KSM rmap_items (/proc/PID/ksm_stat
 * ksm_rmap_items, 6.1 on; before, its merged pages, ksm_merging_pages)? If
 * not, KSM's global counters (shared, sharing and unshared) are the
 * scenario's own. Reads /proc with getdents64 into a stack buffer (no
 * allocation in a scenario process).
 */
static int ksm_elsewhere(void)
{
	char buf[2048];
	int fd = open("/proc", O_RDONLY | O_DIRECTORY), t, found = 0;
	long n;

	if (fd < 0)
		return 1;
	while (!found && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && !found;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; }
				*d = (void *)(buf + off);
			int pid = atoi(d->name), ours = 0;

			off += d->reclen;
			if (pid <= 0 || pid == getpid())
				continue;
			for (t = 0; t < nthreads; t++)
				if (ctl->tpid[t] == pid)
					ours = 1;
			if (!ours) {
				int64_t items = proc_field(pid, "ksm_stat", "ksm_rmap_items");

				if (items > 0 || (items < 0 && proc_field(pid, "ksm_merging_pages", "") > 0))
					found = 1;
			}
		}
	}
	close(fd);
	return found;
}
static int64_t page_value(const char *k, int pid, uint64_t addr);

/* VmPTE, RssAnon, RssShmem (0, 1, 2) before the scenario, of this process's image. */
static int64_t status_base(int pid, int which)
{
	int t;

	for (t = 0; t < MAXT; t++)
		if (pid > 0 && ctl->xpid[t] == pid)
			return ctl->xbase[t][which];
	return which == 0 ? ctl->base_vmpte : which == 1 ? ctl->base_rssanon : ctl->base_rssshmem;
}

static int64_t prim_value(int i)
{
	struct prim *pr = &prims[i];
	int pid = pr->thread >= 0 ? ctl->tpid[pr->thread] : 0;
	uint64_t addr = pr->map >= 0 ? ctl->mapaddr[pr->map] + (uint64_t)pr->page * PAGE : 0;
	const char *k = pr->kind;

	if (!strcmp(k, "vm") && !strcmp(pr->name, "pgfault"))
		return scenario_faults(0);
	if (!strcmp(k, "vm") && !strcmp(pr->name, "pgmajfault"))
		return scenario_faults(1);
	if (!strcmp(k, "vm"))
		return vmstat(pr->name) - vm_base[i];
	if (!strncmp(k, "ksm_pages_", 10)) {
		/* ksm_pages_shared, _sharing, _unshared: /sys/kernel/mm/ksm/pages_... */
		char path[64];

		if (ksm_elsewhere())
			__atomic_store_n(&ctl->ksm_noisy, 1, __ATOMIC_SEQ_CST);
		snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", k + 4);
		return sysfs_value(path);
	}
	if (!strcmp(k, "kpf")) {
		/* kpf - - REG BIT: a /proc/kpageflags bit of the PFN register REG holds */
		uint64_t f = 0;
		int64_t pfn = regs[pr->page];
		int fd = open("/proc/kpageflags", O_RDONLY);

		if (fd >= 0 && pfn > 0 && pread(fd, &f, 8, (off_t)(pfn * 8)) != 8)
			f = 0;
		if (fd >= 0)
			close(fd);
		return pfn > 0 ? (int64_t)((f >> atoi(pr->name)) & 1) : 0;
	}
	if (!strcmp(k, "exitcode"))
		return thread_gone(pr->thread) ? ctl->texit[pr->thread] : 0;
	if (!strcmp(k, "alive"))
		return ctl->tstate[pr->thread] != T_NONE && !thread_gone(pr->thread);
	if (pid <= 0 || thread_gone(pr->thread))
		return 0;
	if (!strcmp(k, "VmPTE"))
		return proc_field(pid, "status", "VmPTE") - status_base(pid, 0);
	if (!strcmp(k, "RssAnon"))
		return proc_field(pid, "status", "RssAnon") - status_base(pid, 1);
	if (!strcmp(k, "RssShmem"))
		return proc_field(pid, "status", "RssShmem") - status_base(pid, 2);
	if (!strcmp(k, "VmSwap"))
		return proc_field(pid, "status", "VmSwap");
	if (!strcmp(k, "AnonHugePages"))
		return proc_field(pid, "smaps_rollup", "AnonHugePages");
	if (!strcmp(k, "ksm_merging_pages"))
		return proc_field(pid, "ksm_merging_pages", "");
	if (!strcmp(k, "ksm_zero_pages"))
		return proc_field(pid, "ksm_stat", "ksm_zero_pages");
	if (pr->count > 1 || !strcmp(k, "distinct_pfns"))
		return range_value(pr, pid, addr);
	return page_value(k, pid, addr);
}

/*
 * A page primitive over pr->count pages from addr, pr->step apart: how many
 * pages it holds for, or (distinct_pfns) how many different PFNs are mapped.
 */
static int64_t range_value(const struct prim *pr, int pid, uint64_t addr)
{
	int64_t n = 0;
	uint64_t *seen = NULL;
	int i, j, nseen = 0;
	int distinct = !strcmp(pr->kind, "distinct_pfns");

	if (distinct)
		seen = calloc((size_t)pr->count, sizeof(*seen));
	for (i = 0; i < pr->count; i++) {
		uint64_t at = addr + (uint64_t)i * pr->step * PAGE;

		if (!distinct) {
			n += page_value(pr->kind, pid, at) != 0;
			continue;
		}
		uint64_t pfn = (uint64_t)page_value("pfn", pid, at);

		for (j = 0; j < nseen && seen[j] != pfn; j++)
			;
		if (pfn && j == nseen)
			seen[nseen++] = pfn;
	}
	free(seen);
	return distinct ? nseen : n;
}

/* One page's primitive `k` at addr of process pid. */
static int64_t page_value(const char *k, int pid, uint64_t addr)
{
	uint64_t pm = 0, pfn;

	if (!strcmp(k, "address"))
		return (int64_t)addr;
	if (pagemap_entry(pid, addr, &pm))
		return 0;
	pfn = pm & ((1ULL << 55) - 1);
	if (!strcmp(k, "present"))
		return (pm >> 63) & 1;
	if (!strcmp(k, "swapped"))
		return (pm >> 62) & 1;
	if (!strcmp(k, "softdirty"))
		return (pm >> 55) & 1;
	if (!strcmp(k, "exclusive"))
		return (pm >> 56) & 1;
	if (!strcmp(k, "uffd_wp"))
		return (pm >> 57) & 1;
	if (!strcmp(k, "file"))
		return (pm >> 61) & 1;
	if (!strcmp(k, "swap_offset"))
		return (pm >> 62) & 1 ? (int64_t)((pm >> 5) & ((1ULL << 50) - 1)) : 0;
	if (!strcmp(k, "pfn"))
		return (pm >> 63) & 1 ? (int64_t)pfn : 0;
	if (!strcmp(k, "zeropage"))
		return ((pm >> 63) & 1) && (pfn == zero_pfn ||
			(huge_zero_pfn && pfn >= huge_zero_pfn && pfn < huge_zero_pfn + 512));
	if (!strcmp(k, "value")) {
		char path[64];
		uint32_t v = 0;
		int fd;

		/* The model's value(): what a read returns now, without faulting. */
		if (!((pm >> 63) & 1))
			return 0;
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0 || pread(fd, &v, 4, (off_t)addr) != 4)
			v = 0;
		if (fd >= 0)
			close(fd);
		return v;
	}
	fail("unknown primitive %s", k);
	return 0;
}

static int64_t eval(const struct tok *e, int ne)
{
	int64_t st[ne > 0 ? ne : 1];
	int sp = 0, i;

	for (i = 0; i < ne; i++) {
		const struct tok *t = &e[i];
		int64_t l, r;

		if (t->kind == '#') {
			st[sp++] = t->v;
			continue;
		}
		if (t->kind == 'r') {
			st[sp++] = regs[t->v];
			continue;
		}
		if (t->kind == 'p') {
			st[sp++] = prim_value((int)t->v);
			continue;
		}
		if (t->kind == 'l') {
			st[sp++] = loc[t->v];
			continue;
		}
		if (!strcmp(t->op, "!")) {
			st[sp - 1] = !st[sp - 1];
			continue;
		}
		if (!strcmp(t->op, "n")) {
			st[sp - 1] = -st[sp - 1];
			continue;
		}
		r = st[--sp];
		l = st[--sp];
		switch (t->op[0]) {
		case '+': st[sp++] = l + r; break;
		case '-': st[sp++] = l - r; break;
		case '*': st[sp++] = l * r; break;
		case '/': st[sp++] = r ? l / r : 0; break;
		case '%': st[sp++] = r ? l % r : 0; break;
		case '&': st[sp++] = l && r; break;
		case '|': st[sp++] = l || r; break;
		case '=': st[sp++] = l == r; break;
		case '!': st[sp++] = l != r; break;
		case '<': st[sp++] = t->op[1] == '=' ? l <= r : l < r; break;
		case '>': st[sp++] = t->op[1] == '=' ? l >= r : l > r; break;
		default: fail("bad operator %s", t->op);
		}
	}
	return sp ? st[sp - 1] : 0;
}

/* ---- io_uring fixed buffers ---- */

static int ring_setup(struct ring *r, uint64_t addr, uint64_t len)
{
	struct io_uring_params p = { 0 };
	struct iovec iov = { (void *)addr, (size_t)len };
	char *sq, *cq;
	int fd;

	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		return -errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		fail("io_uring mmap: %s", strerror(errno));
	r->sq_tail = (uint32_t *)(sq + p.sq_off.tail);
	r->sq_mask = (uint32_t *)(sq + p.sq_off.ring_mask);
	r->sq_array = (uint32_t *)(sq + p.sq_off.array);
	r->cq_head = (uint32_t *)(cq + p.cq_off.head);
	r->cq_tail = (uint32_t *)(cq + p.cq_off.tail);
	r->cq_mask = (uint32_t *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
		int e = -errno;

		close(fd);
		return e;
	}
	r->fd = fd;
	r->addr = addr;
	r->len = len;
	r->file = memfd_create("cowherd-io", 0);
	if (r->file < 0 || ftruncate(r->file, PAGE))
		fail("memfd: %s", strerror(errno));
	return 0;
}

/* One READ_FIXED (device to memory) or WRITE_FIXED (memory to device) of a page. */
static int64_t ring_io(struct ring *r, int op, uint64_t addr)
{
	uint32_t tail = *r->sq_tail, head;
	struct io_uring_sqe *sqe = &r->sqes[tail & *r->sq_mask];
	struct io_uring_cqe *cqe;
	int64_t res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = (uint8_t)op;
	sqe->fd = r->file;
	sqe->addr = addr;
	sqe->len = PAGE;
	sqe->off = 0;
	sqe->buf_index = 0;
	r->sq_array[tail & *r->sq_mask] = tail & *r->sq_mask;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		fail("io_uring_enter: %s", strerror(errno));
	head = *r->cq_head;
	while (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		;
	cqe = &r->cqes[head & *r->cq_mask];
	res = cqe->res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/* ---- scenario threads ---- */

static void run_thread(int id);
static void exec_args(int self, struct op *o, const int64_t *a);

/*
 * Before MADV_PAGEOUT: remember the PFNs of the range's present pages, whose
 * writes to swap wait_writeback waits for (pageout() only starts them).
 */
static void note_pageout(uint64_t addr, uint64_t len)
{
	uint64_t e[64];
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t page, n = len / PAGE, i;

	if (fd < 0)
		return;
	for (page = 0; page < n; page += 64) {
		uint64_t chunk = n - page < 64 ? n - page : 64;
		ssize_t got = pread(fd, e, chunk * 8, (off_t)((addr / PAGE + page) * 8));

		for (i = 0; got > 0 && i < (uint64_t)got / 8; i++) {
			int32_t at;

			if (!((e[i] >> 63) & 1))
				continue;
			at = __atomic_fetch_add(&ctl->nwb, 1, __ATOMIC_SEQ_CST);
			if (at < MAXWB)
				ctl->wbpfn[at] = e[i] & ((1ULL << 55) - 1);
		}
	}
	close(fd);
}

/*
 * lru_add_drain_all: move_pages(2) of one of this process's pages to the node
 * it is on. do_pages_move() starts with lru_cache_disable(), which drains
 * every CPU's folio batches (lru_add, and lru_move_tail where the end of a
 * swap write left a folio); the page itself stays where it is.
 */
static void lru_add_drain_all(void)
{
	static volatile char here = 1;
	void *page = (void *)((uintptr_t)&here & ~(uintptr_t)(PAGE - 1));
	unsigned int cpu = 0, node = 0;
	int nodes[1], status[1] = { 0 };

	here = 1;
	if (syscall(SYS_getcpu, &cpu, &node, NULL))
		node = 0;
	nodes[0] = (int)node;
	if (syscall(SYS_move_pages, 0, 1UL, &page, nodes, status, 0) < 0)
		fail("lru_add_drain_all: move_pages: %s", strerror(errno));
}

/*
 * wait_writeback: until no remembered PFN has PG_writeback (KPF_WRITEBACK,
 * bit 8 of /proc/kpageflags), as the model's thread sleeps until the swap
 * device has ended its writes. More PFNs than were remembered: wait for
 * /proc/vmstat nr_writeback to reach 0 instead (the whole machine's).
 */
static void wait_writeback(void)
{
	int64_t deadline = now_ms() + 5000;
	int fd = open("/proc/kpageflags", O_RDONLY);
	int32_t n = ctl->nwb, i;

	if (fd < 0)
		fail("wait_writeback: cannot open /proc/kpageflags: %s", strerror(errno));
	for (;;) {
		int busy = 0;

		if (n > MAXWB) {
			busy = vmstat("nr_writeback") > 0;
		} else {
			for (i = 0; i < n && !busy; i++) {
				uint64_t f = 0;

				if (pread(fd, &f, 8, (off_t)(ctl->wbpfn[i] * 8)) == 8 && ((f >> 8) & 1))
					busy = 1;
			}
		}
		if (!busy)
			break;
		if (now_ms() > deadline)
			fail("wait_writeback: swap writes still in flight after 5 s");
		exit_if_orphaned();
		usleep(50);
	}
	close(fd);
	ctl->nwb = 0;
}

static void *thread_main(void *arg)
{
	run_thread((int)(intptr_t)arg);
	return NULL;
}

static void setreg(int64_t r, int64_t v)
{
	if (r >= 0)
		__atomic_store_n(&regs[r], v, __ATOMIC_SEQ_CST);
}

static int64_t ret_of(long r)
{
	return r < 0 ? -errno : r;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * A thread's own figures at its start (end 0) or its end (end 1): its
 * minflt and majflt (/proc/thread-self/stat, per task as the kernel counts
 * them in mm_account_fault()), its process's VmPTE and the time.
 */
static void thread_stat(int id, int end)
{
	char buf[1024];
	int64_t *st = ctl->tstat[id][end];
	char *p = stat_field_of("/proc/thread-self/stat", 10, buf, sizeof(buf));

	st[0] = p ? strtoll(p, NULL, 10) : -1;
	p = stat_field_of("/proc/thread-self/stat", 12, buf, sizeof(buf));
	st[1] = p ? strtoll(p, NULL, 10) : -1;
	st[2] = proc_field(getpid(), "status", "VmPTE");
	st[3] = now_ns();
	{
		struct timespec ts;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		st[4] = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
}

static void start_thread(int id, int proc)
{
	thread_stat(id, 0);
	ctl->tproc[id] = proc;
	ctl->tpid[id] = getpid();
	ctl->tstate[id] = T_RUNNING;
	wake_coordinator();
}

static void exec_op(int self, struct op *o)
{
	int64_t a[8];
	int i;

	for (i = 0; i < 8; i++)
		a[i] = o->ae[i] ? eval(o->ae[i], o->nae[i]) : o->a[i];
	exec_args(self, o, a);
}

static void exec_args(int self, struct op *o, const int64_t *a)
{
	uint64_t base = a[0] >= 0 && a[0] < MAXMAP ? ctl->mapaddr[a[0]] : 0;

	if (!strcmp(o->name, "loop")) {
		/* loop VAR FROM TO END: VAR = FROM; to the operation after END (its next) when FROM >= TO */
		loc[a[0]] = a[1];
		if (a[1] >= a[2])
			cur_op = (int)a[3];
	} else if (!strcmp(o->name, "next")) {
		/* next VAR TO START: VAR + 1; back to the operation after START (its loop) while below TO */
		if (++loc[a[0]] < a[1])
			cur_op = (int)a[2];
	} else if (!strcmp(o->name, "file")) {
		/* file FILE PAGES EXT4: memfd_create() or an O_TMPFILE on ext4, PAGES long and allocated */
		int fd = a[2] ? open(TMPFILE_DIR, O_TMPFILE | O_RDWR, 0600) : memfd_create("cowherd", 0);

		if (fd < 0 || ftruncate(fd, a[1] * PAGE) || fallocate(fd, 0, 0, a[1] * PAGE))
			fail("file: %s", strerror(errno));
		files[a[0]] = fd;
	} else if (!strcmp(o->name, "mmap")) {
		/* mmap MAP LEN PROT FLAGS AT RET FILE (-1: anonymous) */
		void *p = mmap((void *)a[4], a[1], a[2], a[3], a[6] >= 0 ? files[a[6]] : -1, 0);

		if (p == MAP_FAILED) {
			setreg(a[5], -errno);
			return;
		}
		ctl->mapaddr[a[0]] = (uint64_t)p;
		ctl->maplen[a[0]] = a[1];
		setreg(a[5], 0);
	} else if (!strcmp(o->name, "munmap")) {
		setreg(a[3], ret_of(munmap((void *)(base + a[1]), a[2])));
	} else if (!strcmp(o->name, "mprotect")) {
		setreg(a[4], ret_of(mprotect((void *)(base + a[1]), a[2], a[3])));
	} else if (!strcmp(o->name, "madvise")) {
		if (a[3] == MADV_PAGEOUT)
			note_pageout(base + a[1], a[2]);
		setreg(a[4], ret_of(madvise((void *)(base + a[1]), a[2], a[3])));
	} else if (!strcmp(o->name, "mremap")) {
		/* mremap MAP OFF LEN ONTO RET */
		void *p = mremap((void *)(base + a[1]), a[2], a[2], MREMAP_MAYMOVE | MREMAP_FIXED,
				 (void *)ctl->mapaddr[a[3]]);

		setreg(a[4], p == MAP_FAILED ? -errno : 0);
	} else if (!strcmp(o->name, "write")) {
		/* write MAP FROM TO STEP EXPR: the value goes to the first word of each page */
		uint32_t v = (uint32_t)eval(o->e, o->ne);
		int64_t pg;

		for (pg = a[1]; pg < a[2]; pg += a[3])
			*(volatile uint32_t *)(base + pg * PAGE) = v;
	} else if (!strcmp(o->name, "read")) {
		/* read MAP FROM TO STEP REG */
		uint32_t v = 0;
		int64_t pg;

		for (pg = a[1]; pg < a[2]; pg += a[3])
			v = *(volatile uint32_t *)(base + pg * PAGE);
		setreg(a[4], v);
	} else if (!strcmp(o->name, "fork")) {
		pid_t pid;
		int proc = __atomic_add_fetch(&ctl->nproc, 1, __ATOMIC_SEQ_CST);

		ctl->tpid[a[0]] = 0;
		/* Running from now on, so that the coordinator waits for the child to start. */
		ctl->tproc[a[0]] = proc;
		ctl->tstate[a[0]] = T_RUNNING;
		pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (pid == 0) {
			run_thread((int)a[0] | (proc << 8));
			syscall(SYS_exit_group, 0);
		}
		ctl->tpid[a[0]] = pid;
	} else if (!strcmp(o->name, "spawn")) {
		pthread_t t;

		ctl->tproc[a[0]] = ctl->tproc[self];
		ctl->tpid[a[0]] = getpid();
		ctl->tstate[a[0]] = T_RUNNING;
		if (pthread_create(&t, NULL, thread_main,
				   (void *)(intptr_t)((int)a[0] | (ctl->tproc[self] << 8))))
			fail("pthread_create failed");
		pthread_detach(t);
	} else if (!strcmp(o->name, "wait")) {
		/* wait THREAD REG */
		int st = 0;
		pid_t pid;

		while (!(pid = __atomic_load_n(&ctl->tpid[a[0]], __ATOMIC_SEQ_CST)))
			sched_yield();
		while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
			;
		ctl->texit[a[0]] = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		ctl->tstate[a[0]] = T_EXITED;
		setreg(a[1], ctl->texit[a[0]]);
		wake_coordinator();
	} else if (!strcmp(o->name, "exit")) {
		int code = (int)eval(o->e, o->ne), t;

		thread_stat(self, 1);
		for (t = 0; t < nthreads; t++)
			if (ctl->tstate[t] != T_NONE && ctl->tproc[t] == ctl->tproc[self]) {
				ctl->texit[t] = code & 255;
				ctl->tstate[t] = T_EXITED;
			}
		wake_coordinator();
		syscall(SYS_exit_group, code);
	} else if (!strcmp(o->name, "signal")) {
		__atomic_store_n(&ctl->ev[a[0]], 1, __ATOMIC_SEQ_CST);
		futex(&ctl->ev[a[0]], FUTEX_WAKE, 1 << 30);
	} else if (!strcmp(o->name, "await")) {
		wait_flag(&ctl->ev[a[0]]);
	} else if (!strcmp(o->name, "observe")) {
		setreg(a[0], eval(o->e, o->ne));
	} else if (!strcmp(o->name, "pipe")) {
		if (pipe(pipes[a[0]]))
			fail("pipe: %s", strerror(errno));
	} else if (!strcmp(o->name, "pipewrite")) {
		char buf[PAGE] = { 0 };

		*(uint32_t *)buf = (uint32_t)eval(o->e, o->ne);
		if (write(pipes[a[0]][1], buf, PAGE) != (ssize_t)PAGE)
			fail("pipe write: %s", strerror(errno));
	} else if (!strcmp(o->name, "piperead")) {
		char buf[PAGE];
		ssize_t n = read(pipes[a[0]][0], buf, PAGE);

		setreg(a[1], n == 0 ? -1 : n < 0 ? -errno : *(uint32_t *)buf);
	} else if (!strcmp(o->name, "vmsplice")) {
		/* vmsplice MAP OFF LEN PIPE RET */
		struct iovec iov = { (void *)(base + a[1]), (size_t)a[2] };

		setreg(a[4], ret_of(vmsplice(pipes[a[3]][1], &iov, 1, 0)));
	} else if (!strcmp(o->name, "clear_refs")) {
		char v[16];
		int fd = open("/proc/self/clear_refs", O_WRONLY), n;

		n = snprintf(v, sizeof(v), "%lld", (long long)a[0]);
		setreg(a[1], fd < 0 ? -errno : write(fd, v, n) < 0 ? -errno : 0);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(o->name, "prctl")) {
		setreg(a[2], ret_of(prctl((int)a[0], a[1], 0, 0, 0)));
	} else if (!strcmp(o->name, "odirect")) {
		/*
		 * odirect MAP OFF LEN READ RET: a synchronous O_DIRECT transfer
		 * between the pages and an unlinked file in /tmp: READ = 1 reads the
		 * file into memory (the device writes the pages), 0 writes the pages
		 * to the file. The block layer pins the pages for the transfer.
		 */
		int fd = open(TMPFILE_DIR, O_TMPFILE | O_RDWR | O_DIRECT, 0600);
		void *p = (void *)(base + a[1]);
		long r;

		if (fd < 0) {
			setreg(a[4], -errno);
		} else {
			if (a[3] && ftruncate(fd, a[2]) < 0)
				fail("odirect: ftruncate: %s", strerror(errno));
			r = a[3] ? pread(fd, p, a[2], 0) : pwrite(fd, p, a[2], 0);
			setreg(a[4], r < 0 ? -errno : 0);
			close(fd);
		}
	} else if (!strcmp(o->name, "exec")) {
		/*
		 * exec: execve() of the probe itself, as the model's exec: a new
		 * address space (every mapping and the other threads gone), the
		 * process's pid, CPU and PR_SET_MEMORY_MERGE kept. The new image
		 * maps the control memory again and goes on after this operation.
		 */
		char fd[16], who[16], next[16];
		char *argv[] = { "cowherd-probe", "--exec-resume", (char *)prog_path, fd, who, next, NULL };

		snprintf(fd, sizeof(fd), "%d", shared_fd);
		snprintf(who, sizeof(who), "%d", self | (ctl->tproc[self] << 8));
		snprintf(next, sizeof(next), "%d", cur_op + 1);
		execv("/proc/self/exe", argv);
		fail("exec: %s", strerror(errno));
	} else if (!strcmp(o->name, "wait_writeback")) {
		wait_writeback();
	} else if (!strcmp(o->name, "lru_add_drain_all")) {
		lru_add_drain_all();
	} else if (!strcmp(o->name, "ksm_scan")) {
		/*
		 * ksm_scan USE_ZERO_PAGES: as ksm_functional_tests.c does, start ksmd
		 * and wait for two more full scans (the runner has journaled the knobs
		 * and set sleep_millisecs to 0); then stop it, keeping what it merged
		 * (run = 0), because the model's ksm_scan is a burst of scanning and
		 * a background ksmd is the separate `env ksmd`.
		 */
		int64_t start = sysfs_value("/sys/kernel/mm/ksm/full_scans");
		int64_t deadline = now_ms() + 10000, idle_since = now_ms();
		int64_t scanned = sysfs_value("/sys/kernel/mm/ksm/pages_scanned");

		if (!sysfs_write("/sys/kernel/mm/ksm/use_zero_pages", a[0] ? "1" : "0") ||
		    !sysfs_write("/sys/kernel/mm/ksm/run", "1"))
			fail("ksm_scan: cannot write /sys/kernel/mm/ksm");
		while (sysfs_value("/sys/kernel/mm/ksm/full_scans") < start + 2) {
			int64_t now = sysfs_value("/sys/kernel/mm/ksm/pages_scanned");

			/*
			 * ksmd drops an mm without VM_MERGEABLE VMAs from its list and
			 * then has nothing to scan: full_scans stops. Idle for 200 ms
			 * means there is nothing left to merge.
			 */
			if (now != scanned) {
				scanned = now;
				idle_since = now_ms();
			} else if (now_ms() - idle_since > 200) {
				break;
			}
			if (now_ms() > deadline)
				fail("ksm_scan: ksmd did not finish two full scans in 10 s");
			exit_if_orphaned();
			usleep(1000);
		}
		sysfs_write("/sys/kernel/mm/ksm/run", "0");
	} else if (!strcmp(o->name, "userfaultfd")) {
		/* userfaultfd U WP_UNPOPULATED EVENT_FORK: UFFDIO_API with UFFD_FEATURE_PAGEFAULT_FLAG_WP */
		struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
		int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

		if (a[1])
			api.features |= UFFD_FEATURE_WP_UNPOPULATED;
		if (a[2])
			api.features |= UFFD_FEATURE_EVENT_FORK;
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
			fail("userfaultfd: %s", strerror(errno));
		uffds[a[0]] = fd;
	} else if (!strcmp(o->name, "uffd")) {
		/* uffd MAP OFF LEN U SUB(0 register, 1 wp, 2 unwp) RET */
		int fd = uffds[a[3]];
		long r;

		if (a[4] == 0) {
			struct uffdio_register reg = { .range = { base + a[1], (uint64_t)a[2] },
						       .mode = UFFDIO_REGISTER_MODE_WP };

			r = ioctl(fd, UFFDIO_REGISTER, &reg);
		} else {
			struct uffdio_writeprotect wp = { .range = { base + a[1], (uint64_t)a[2] },
							  .mode = a[4] == 1 ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

			r = ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
		}
		setreg(a[5], ret_of(r));
	} else if (!strcmp(o->name, "uffdread")) {
		/*
		 * uffdread U FORK REG: one message. A fault gives the register its
		 * page's address; UFFD_EVENT_FORK gives it 0 and, when FORK >= 0,
		 * names the child's new context (an fd of this process) FORK.
		 */
		struct uffd_msg msg;

		while (read(uffds[a[0]], &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			if (errno != EINTR && errno != EAGAIN)
				fail("userfaultfd read: %s", strerror(errno));
		if (msg.event == UFFD_EVENT_FORK) {
			if (a[1] >= 0)
				uffds[a[1]] = (int)msg.arg.fork.ufd;
			setreg(a[2], 0);
		} else {
			setreg(a[2], (int64_t)(msg.arg.pagefault.address & ~(PAGE - 1)));
		}
	} else if (!strcmp(o->name, "iouring")) {
		/* iouring MAP OFF LEN PIN RET */
		if (a[3] < 0 || a[3] >= MAXPIN)
			fail("too many pins");
		int ret = ring_setup(&rings[a[3]], base + a[1], a[2]);

		/* As pin_user_pages(): the number of pages pinned, or -errno. */
		setreg(a[4], ret < 0 ? ret : a[2] / (int64_t)PAGE);
	} else if (!strcmp(o->name, "pinread")) {
		/* pinread PIN REG: WRITE_FIXED the first pinned page to the memfd, read the word */
		struct ring *r = &rings[a[0]];
		uint32_t v = 0;

		if (ring_io(r, IORING_OP_WRITE_FIXED, r->addr) != (int64_t)PAGE)
			fail("WRITE_FIXED failed");
		if (pread(r->file, &v, 4, 0) != 4)
			fail("memfd read: %s", strerror(errno));
		setreg(a[1], v);
	} else if (!strcmp(o->name, "pinwrite")) {
		/* pinwrite PIN = EXPR: READ_FIXED the value into every pinned page */
		struct ring *r = &rings[a[0]];
		char buf[PAGE] = { 0 };
		uint64_t off;

		*(uint32_t *)buf = (uint32_t)eval(o->e, o->ne);
		if (pwrite(r->file, buf, PAGE, 0) != (ssize_t)PAGE)
			fail("memfd write: %s", strerror(errno));
		for (off = 0; off < r->len; off += PAGE)
			if (ring_io(r, IORING_OP_READ_FIXED, r->addr + off) != (int64_t)PAGE)
				fail("READ_FIXED failed");
	} else if (!strcmp(o->name, "unpin")) {
		struct ring *r = &rings[a[0]];

		if (r->fd > 0) {
			syscall(SYS_io_uring_register, r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
			close(r->fd);
			close(r->file);
			r->fd = 0;
		}
	} else if (!strcmp(o->name, "affinity")) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((int)a[0], &set);
		sched_setaffinity(0, sizeof(set), &set);
	} else {
		fail("unknown operation %s", o->name);
	}
}

static void __attribute__((noreturn)) run_ops(int id, int from)
{
	for (cur_op = from; cur_op < threads[id].nops; cur_op++)
		exec_op(id, &threads[id].ops[cur_op]);
	thread_stat(id, 1);
	ctl->tstate[id] = T_FINISHED;
	wake_coordinator();
	wait_flag(&ctl->release);
	syscall(SYS_exit_group, 0);
	__builtin_unreachable();
}

static void run_thread(int arg)
{
	start_thread(arg & 255, arg >> 8);
	run_ops(arg & 255, 0);
}

/* ---- the program ---- */

/* Why the program cannot be loaded: on stderr, exit 2 (ctl does not exist yet). */
static void __attribute__((noreturn)) bad_program(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "probe: program line %d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Grow *p (n elements of size sz, capacity *cap) to hold one more. */
static void *grow(void *p, int n, int *cap, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, (size_t)*cap * sz);
	if (!p) {
		perror("probe: realloc");
		exit(2);
	}
	return p;
}

/* The next word of the line, or a load error naming what was missing. */
static char *word(char **save, int line, const char *what)
{
	char *w = strtok_r(NULL, " \t\n", save);

	if (!w)
		bad_program(line, "missing %s", what);
	return w;
}

/* One token of an RPN expression. */
static struct tok token(const char *s)
{
	struct tok t = { 'o', 0, "" };

	if (s[0] == '#')
		t = (struct tok){ '#', strtoll(s + 1, NULL, 0), "" };
	else if (s[0] == 'r' && s[1] >= '0' && s[1] <= '9')
		t = (struct tok){ 'r', strtoll(s + 1, NULL, 10), "" };
	else if (s[0] == 'p' && s[1] >= '0' && s[1] <= '9')
		t = (struct tok){ 'p', strtoll(s + 1, NULL, 10), "" };
	else if (s[0] == 'l' && s[1] >= '0' && s[1] <= '9')
		t = (struct tok){ 'l', strtoll(s + 1, NULL, 10), "" };
	else
		strncpy(t.op, s, 2);
	return t;
}

/* An RPN expression of any length (the rest of the line). */
static int parse_expr(char **save, struct tok **out)
{
	struct tok *e = NULL;
	int n = 0, cap = 0;
	char *s;

	while ((s = strtok_r(NULL, " \t\n", save))) {
		e = grow(e, n, &cap, sizeof(*e));
		e[n++] = token(s);
	}
	*out = e;
	return n;
}

/* An argument written $T,T,...: the RPN expression with its tokens comma-separated. */
static int parse_arg(char *s, struct tok **out)
{
	struct tok *e = NULL;
	int n = 0, cap = 0;
	char *save, *t;

	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		e = grow(e, n, &cap, sizeof(*e));
		e[n++] = token(t);
	}
	*out = e;
	return n;
}

static size_t page_align(size_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

/*
 * ctl, the registers and the counter baselines, in one memfd (not
 * close-on-exec), so that a scenario process that execs maps them again:
 * with `create`, a new one, zeroed; otherwise the inherited shared_fd.
 */
static void map_shared(int create)
{
	size_t c = page_align(sizeof(*ctl)), r = page_align((size_t)(nregs > 0 ? nregs : 1) * 8);
	size_t v = page_align((size_t)(nprims > 0 ? nprims : 1) * 8);
	char *p;

	if (create) {
		shared_fd = memfd_create("cowherd-probe", 0);
		if (shared_fd < 0 || ftruncate(shared_fd, (off_t)(c + r + v))) {
			perror("probe: memfd");
			exit(2);
		}
	}
	p = mmap(NULL, c + r + v, PROT_READ | PROT_WRITE, MAP_SHARED, shared_fd, 0);
	if (p == MAP_FAILED) {
		perror("probe: mmap");
		exit(2);
	}
	ctl = (struct ctl *)p;
	regs = (int64_t *)(p + c);
	vm_base = (int64_t *)(p + c + r);
}

/*
 * Read the program. Its size is bounded only by memory: lines of any length,
 * any number of operations, primitives and registers; the counts the control
 * page holds per name (threads, mappings, events, pipes, pins) are checked.
 */
static void load(const char *path)
{
	char *line = NULL;
	size_t linecap = 0;
	FILE *f = fopen(path, "r");
	int cur = -1, lineno = 0, capprims = 0, capfinals = 0;

	if (!f) {
		perror(path);
		exit(2);
	}
	while (getline(&line, &linecap, f) > 0) {
		char *save, *w = strtok_r(line, " \t\n", &save);

		lineno++;
		if (!w || w[0] == ';')
			continue;
		if (!strcmp(w, "cowherd-probe"))
			continue;
		if (!strcmp(w, "regs")) {
			nregs = atoi(word(&save, lineno, "register count"));
		} else if (!strcmp(w, "threads")) {
			nthreads = atoi(word(&save, lineno, "thread count"));
			if (nthreads < 1 || nthreads > MAXT)
				bad_program(lineno, "%d threads (the probe runs 1 to %d)", nthreads, MAXT);
		} else if (!strcmp(w, "prim")) {
			struct prim *p;

			prims = grow(prims, nprims, &capprims, sizeof(*prims));
			p = &prims[nprims++];
			memset(p, 0, sizeof(*p));
			strncpy(p->kind, word(&save, lineno, "primitive kind"), sizeof(p->kind) - 1);
			p->thread = atoi(word(&save, lineno, "primitive thread"));
			p->map = atoi(word(&save, lineno, "primitive mapping"));
			p->page = atoi(word(&save, lineno, "primitive page"));
			strncpy(p->name, word(&save, lineno, "primitive name"), sizeof(p->name) - 1);
			{
				char *c = strtok_r(NULL, " \t\n", &save), *st = strtok_r(NULL, " \t\n", &save);

				p->count = c ? atoi(c) : 1;
				p->step = st ? atoi(st) : 1;
				if (p->count < 1 || p->step < 1)
					bad_program(lineno, "primitive over %d pages, %d apart", p->count, p->step);
			}
			if (p->thread >= MAXT || p->map >= MAXMAP)
				bad_program(lineno, "primitive of thread %d, mapping %d: out of range",
					    p->thread, p->map);
		} else if (!strcmp(w, "final")) {
			char *s;

			while ((s = strtok_r(NULL, " \t\n", &save))) {
				finals = grow(finals, nfinals, &capfinals, sizeof(*finals));
				finals[nfinals++] = atoi(s);
			}
		} else if (!strcmp(w, "thread")) {
			cur = atoi(word(&save, lineno, "thread index"));
			if (cur < 0 || cur >= nthreads)
				bad_program(lineno, "thread %d of %d", cur, nthreads);
			strncpy(threads[cur].name, word(&save, lineno, "thread name"), 31);
		} else if (!strcmp(w, "end")) {
			cur = -1;
		} else if (!strcmp(w, "op")) {
			struct thread *t;
			struct op *o;
			char *s;

			if (cur < 0)
				bad_program(lineno, "operation outside a thread");
			t = &threads[cur];
			t->ops = grow(t->ops, t->nops, &t->cap, sizeof(*t->ops));
			o = &t->ops[t->nops++];
			memset(o, 0, sizeof(*o));
			s = word(&save, lineno, "operation");
			if (strlen(s) >= sizeof(o->name))
				bad_program(lineno, "operation name '%s' too long", s);
			strcpy(o->name, s);
			while ((s = strtok_r(NULL, " \t\n", &save)) && strcmp(s, "=")) {
				if (o->na == (int)(sizeof(o->a) / sizeof(o->a[0])))
					bad_program(lineno, "%s: too many arguments", o->name);
				if (s[0] == '$') {
					o->nae[o->na] = parse_arg(s + 1, &o->ae[o->na]);
					o->na++;
				} else {
					o->a[o->na++] = strtoll(s, NULL, 0);
				}
			}
			if (s)
				o->ne = parse_expr(&save, &o->e);
		} else if (!strcmp(w, "maps") || !strcmp(w, "events") || !strcmp(w, "pipes")) {
			continue;
		} else {
			bad_program(lineno, "unknown line '%s'", w);
		}
	}
	free(line);
	fclose(f);
	if (nthreads < 1)
		bad_program(lineno, "no threads");
	for (cur = 0; cur < nfinals; cur++)
		if (finals[cur] < 0 || finals[cur] >= nprims)
			bad_program(lineno, "final primitive %d of %d", finals[cur], nprims);
}

/* The PFNs of the zero page and the huge zero page (0 if THP gives none). */
static void find_zero_pfns(void)
{
	uint64_t pm = 0;
	volatile char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *h;

	(void)p[0];
	if (!pagemap_entry(getpid(), (uint64_t)p, &pm) && (pm >> 63))
		zero_pfn = pm & ((1ULL << 55) - 1);
	munmap((void *)p, PAGE);
	h = mmap(NULL, 4 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return;
	p = (char *)(((uint64_t)h + (2 << 20) - 1) & ~((2UL << 20) - 1));
	madvise((void *)p, 2 << 20, MADV_HUGEPAGE);
	(void)p[0];
	if (!pagemap_entry(getpid(), (uint64_t)p, &pm) && (pm >> 63)) {
		uint64_t pfn = pm & ((1ULL << 55) - 1);

		if (pfn != zero_pfn)
			huge_zero_pfn = pfn;
	}
	munmap(h, 4 << 20);
}

/*
 * Fault in what the probe itself will touch while the scenario runs (its
 * stack, the control page, its buffers), so that the scenario's counters
 * count the scenario's faults.
 */
static void __attribute__((noinline)) warm_stack(void)
{
	volatile char stack[256 << 10];

	memset((char *)stack, 0, sizeof(stack));
}

static void warm_up(void)
{
	int i;

	warm_stack();
	/*
	 * Populate the page tables of everything mapped so far (the probe's text,
	 * libc, data, stack): fork() did not copy the file-backed PTEs, and the
	 * scenario's pgfault would count the probe's first touches. No scenario
	 * memory exists yet, so no COW of the scenario is broken by this.
	 */
	if (!mlockall(MCL_CURRENT))
		munlockall();
	memset(ctl->errmsg, 0, sizeof(ctl->errmsg));
	memset(pipes, 0xff, sizeof(pipes));
	for (i = 0; i < nprims; i++)
		if (!strcmp(prims[i].kind, "vm"))
			vmstat(prims[i].name);
}

static int all_quiet(void)
{
	int t;

	for (t = 0; t < nthreads; t++)
		if (ctl->tstate[t] == T_RUNNING && !thread_gone(t))
			return 0;
	return 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_all(void)
{
	int t;

	for (t = 0; t < nthreads; t++)
		if (ctl->tpid[t] > 0)
			kill(ctl->tpid[t], SIGKILL);
}

static void one_run(int run, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	const char *outcome = "done";
	pid_t init;
	int i;

	memset(ctl, 0, sizeof(*ctl));
	memset(regs, 0, (size_t)(nregs > 0 ? nregs : 1) * sizeof(*regs));
	memset(vm_base, 0, (size_t)(nprims > 0 ? nprims : 1) * sizeof(*vm_base));
	ctl->coord_pid = getpid();
	ctl->run_start_ns = now_ns();
	init = fork();
	if (init < 0) {
		perror("fork");
		exit(2);
	}
	if (init == 0) {
		/*
		 * Wait until the coordinator has written its own pages once: fork()
		 * write-protected them, and their faults (a copy, or a reuse once
		 * this process owns copies) must come before the counters' baseline.
		 */
		wait_flag(&ctl->coord_ready);
		warm_up();
		ctl->base_vmpte = proc_field(getpid(), "status", "VmPTE");
		ctl->base_rssanon = proc_field(getpid(), "status", "RssAnon");
		ctl->base_rssshmem = proc_field(getpid(), "status", "RssShmem");
		for (i = 0; i < nprims; i++)
			vm_base[i] = !strcmp(prims[i].kind, "vm") ? vmstat(prims[i].name) : 0;
		ctl->tpid[0] = getpid();
		ctl->flt_base[0] = faults_of(getpid(), 0);
		ctl->flt_base[1] = faults_of(getpid(), 1);
		run_thread(0);
	}
	warm_stack();
	__atomic_store_n(&ctl->coord_ready, 1, __ATOMIC_SEQ_CST);
	futex(&ctl->coord_ready, FUTEX_WAKE, 1);
	for (;;) {
		int32_t seen = __atomic_load_n(&ctl->changed, __ATOMIC_SEQ_CST);
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		if (ctl->error) {
			outcome = "error";
			break;
		}
		if (ctl->tstate[0] != T_NONE && all_quiet())
			break;
		if (now_ms() > deadline) {
			outcome = "hang";
			break;
		}
		syscall(SYS_futex, &ctl->changed, FUTEX_WAIT, seen, &ts, NULL, 0);
	}
	if (!strcmp(outcome, "error"))
		printf("run %d error %s\n", run, ctl->errmsg);
	else
		printf("run %d %s\n", run, outcome);
	for (i = 0; i < nregs; i++)
		printf("R %d %lld\n", i, (long long)regs[i]);
	if (!strcmp(outcome, "done"))
		for (i = 0; i < nfinals; i++)
			printf("F %d %lld\n", finals[i], (long long)prim_value(finals[i]));
	for (i = 0; i < nthreads; i++) {
		const int64_t(*st)[5] = ctl->tstat[i];

		if (!st[0][3])
			continue;
		if (!st[1][3])
			printf("T %d -1 -1 -1 %lld -1 -1\n", i, (long long)(st[0][3] - ctl->run_start_ns));
		else
			printf("T %d %lld %lld %lld %lld %lld %lld\n", i, (long long)(st[1][0] - st[0][0]),
			       (long long)(st[1][1] - st[0][1]), (long long)st[1][2],
			       (long long)(st[0][3] - ctl->run_start_ns),
			       (long long)(st[1][3] - ctl->run_start_ns),
			       (long long)(st[1][4] - st[0][4]));
	}
	printf("B %lld\n", (long long)ctl->base_vmpte);
	printf("Q %d\n", ctl->ksm_noisy);
	fflush(stdout);
	__atomic_store_n(&ctl->release, 1, __ATOMIC_SEQ_CST);
	futex(&ctl->release, FUTEX_WAKE, 1 << 30);
	if (strcmp(outcome, "done"))
		kill_all();
	deadline = now_ms() + 2000;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG | __WALL);

		if (p < 0 && errno == ECHILD)
			break;
		if (p == 0) {
			if (now_ms() > deadline) {
				kill_all();
				deadline = now_ms() + 2000;
			}
			usleep(1000);
		}
	}
}

/* What this kernel offers the probe, one "name 0|1" line each. */
static int features(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t pm = 0;
	long fd;
	int ok;

	p[0] = 1;
	/* A new VMA is soft-dirty: bit 55 is set unless CONFIG_MEM_SOFT_DIRTY is off. */
	printf("softdirty %d\n", !pagemap_entry(getpid(), (uint64_t)p, &pm) && ((pm >> 55) & 1));
	printf("pfn %d\n", (int)((pm >> 63) & 1) && (pm & ((1ULL << 55) - 1)) != 0);
	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	printf("userfaultfd %d\n", fd >= 0);
	if (fd >= 0)
		close((int)fd);
	ok = access("/sys/kernel/mm/ksm/run", W_OK) == 0;
	printf("ksm %d\n", ok);
	ok = access("/sys/kernel/mm/transparent_hugepage/enabled", W_OK) == 0;
	printf("thp %d\n", ok);
	{
		struct statfs sf;

		printf("ext4tmp %d\n", !statfs(TMPFILE_DIR, &sf) && sf.f_type == EXT4_SUPER_MAGIC);
	}
	fd = syscall(SYS_io_uring_setup, 4, &(struct io_uring_params){ 0 });
	printf("io_uring %d\n", fd >= 0);
	if (fd >= 0)
		close((int)fd);
	return 0;
}

/*
 * The new image of a scenario process that exec'd: populate its own page
 * tables first (as warm_up() does for the initial process), take its
 * VmPTE/RssAnon/RssShmem baselines, and go on with thread `arg`'s operations.
 */
static void __attribute__((noreturn)) resume_after_exec(int arg, int from)
{
	int id = arg & 255;
	pid_t pid = getpid();

	setvbuf(stdout, NULL, _IONBF, 0);
	find_zero_pfns();
	warm_stack();
	if (!mlockall(MCL_CURRENT))
		munlockall();
	memset(pipes, 0xff, sizeof(pipes));
	ctl->xbase[id][0] = proc_field(pid, "status", "VmPTE");
	ctl->xbase[id][1] = proc_field(pid, "status", "RssAnon");
	ctl->xbase[id][2] = proc_field(pid, "status", "RssShmem");
	__atomic_store_n(&ctl->xpid[id], pid, __ATOMIC_SEQ_CST);
	run_ops(id, from);
}

int main(int argc, char **argv)
{
	int runs, timeout_ms, r;

	if (argc == 2 && !strcmp(argv[1], "--features"))
		return features();
	if (argc == 6 && !strcmp(argv[1], "--exec-resume")) {
		/* A scenario process's exec: PROGRAM SHARED_FD THREAD|PROC<<8 NEXT_OP */
		prog_path = argv[2];
		load(argv[2]);
		shared_fd = atoi(argv[3]);
		map_shared(0);
		resume_after_exec(atoi(argv[4]), atoi(argv[5]));
	}

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: probe PROGRAM RUNS TIMEOUT_MS [CPU]\n");
		return 2;
	}
	if (argc == 5 && atoi(argv[4]) >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[4]), &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("sched_setaffinity");
	}
	prog_path = argv[1];
	load(argv[1]);
	runs = atoi(argv[2]);
	timeout_ms = atoi(argv[3]);
	map_shared(1);
	/* Orphaned scenario processes are reparented here and reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Die with the runner; the scenario processes follow (exit_if_orphaned()). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 2;
	find_zero_pfns();
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (r = 0; r < runs; r++)
		one_run(r, timeout_ms);
	return 0;
}
