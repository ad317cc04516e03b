/*
 * Reference for bench/state.mjs: how fast the running kernel takes the two
 * fault kinds the model simulates most, on this machine, in this run.
 *   anon:  first write to untouched private anonymous pages (do_anonymous_page)
 *   cow:   write by a forked child to pages shared with its parent (do_wp_page copy)
 * Prints one JSON line: {"pages":N,"anon_faults_per_s":...,"cow_faults_per_s":...}
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 262144;
	long psz = sysconf(_SC_PAGESIZE);
	int pipefd[2];
	char *mem = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pipe(pipefd))
		return 1;
	madvise(mem, pages * psz, MADV_NOHUGEPAGE);

	double t0 = now();
	for (long i = 0; i < pages; i++)
		mem[i * psz] = 1;
	double anon = now() - t0;

	pid_t pid = fork();
	if (pid == 0) {
		double t1 = now();
		for (long i = 0; i < pages; i++)
			mem[i * psz] = 2;
		double cow = now() - t1;
		if (write(pipefd[1], &cow, sizeof(cow)) != sizeof(cow))
			_exit(1);
		_exit(0);
	}
	double cow = 0;
	if (read(pipefd[0], &cow, sizeof(cow)) != sizeof(cow))
		return 1;
	waitpid(pid, NULL, 0);
	printf("{\"pages\":%ld,\"anon_faults_per_s\":%.0f,\"cow_faults_per_s\":%.0f}\n",
	       pages, pages / anon, pages / cow);
	return 0;
}
