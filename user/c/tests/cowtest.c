/* cowtest: the MIT 6.1810 copy-on-write lab's user/cowtest.c (simple, three, file,
 * forkfork), same scenarios, written with POSIX calls, sizes from this machine's free
 * memory (sysinfo) instead of xv6's PHYSTOP:
 * - simple: write more than half of free memory, fork, twice. Without copy-on-write
 *   the fork would need more frames than are free; the child also checks that free
 *   memory barely moved when it was created, and the memory must come back after.
 * - three: three processes write overlapping parts of shared memory (more than half of
 *   free memory gets allocated in all), three times: each sees only its own writes, and
 *   the copies are freed.
 * - file: read() into a page shared copy-on-write must copy it (the kernel's own write
 *   to user memory): the child gets the value, the parent's page is untouched.
 * - forkfork: many processes fork and exit at once while sharing one region; the
 *   grandchildren also write to it; the parent's copy stays intact.
 * Each scenario runs in a child; this process reaps it and every orphan (as init here,
 * as a PR_SET_CHILD_SUBREAPER on Linux). */
#define _GNU_SOURCE
#define TEST_NAME "cowtest"
#include "common.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PGSIZE 4096L
#define SBRK_FAILED ((void *)-1)

static int exited0(int st) { return WIFEXITED(st) && WEXITSTATUS(st) == 0; }

/* Allocates more than half of free memory (two thirds of it), writes every page, then
 * forks: only copy-on-write makes this fork possible. */
static void simpletest(void) {
  unsigned long free0 = free_ram();
  long sz = (long)(free0 / 3 * 2) & ~(PGSIZE - 1);
  char *p = sbrk(sz);
  CHECK(p != SBRK_FAILED, "sbrk(%ld) failed", sz);
  for (char *q = p; q < p + sz; q += PGSIZE) *(int *)q = getpid();
  unsigned long before_fork = free_ram();
  pid_t parent = getpid();
  pid_t pid = fork();
  CHECK(pid >= 0, "fork() failed with %ld bytes written", sz);
  if (pid == 0) {
    /* The child shares every page: creating it cost page tables, not copies. */
    unsigned long now = free_ram();
    if (now + (unsigned long)sz / 8 < before_fork) _exit(2);
    for (char *q = p; q < p + sz; q += 64 * PGSIZE)
      if (*(int *)q != parent) _exit(3);
    _exit(0);
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid, "wait");
  CHECK(exited0(st), "child status %#x (2: free memory dropped at fork, 3: wrong content)", st);
  for (char *q = p; q < p + sz; q += PGSIZE) CHECK(*(int *)q == parent, "wrong content");
  CHECK(sbrk(-sz) != SBRK_FAILED, "sbrk(-%ld) failed", sz);
  CHECK(free_ram() + free0 / 16 > free0, "%lu bytes free after, %lu before", free_ram(), free0);
}

/* Three processes all write COW memory: a grandchild four fifths of it, the child
 * half, the parent all of it. More than half of free memory gets allocated, so this
 * also checks that the copies are freed (it runs three times). */
static void threetest(void) {
  unsigned long free0 = free_ram();
  long sz = (long)(free0 / 4) & ~(PGSIZE - 1);
  char *p = sbrk(sz);
  CHECK(p != SBRK_FAILED, "sbrk(%ld) failed", sz);
  pid_t pid1 = fork();
  CHECK(pid1 >= 0, "fork failed");
  if (pid1 == 0) {
    pid_t pid2 = fork();
    if (pid2 < 0) _exit(1);
    if (pid2 == 0) {
      for (char *q = p; q < p + (sz / 5) * 4; q += PGSIZE) *(int *)q = getpid();
      for (char *q = p; q < p + (sz / 5) * 4; q += PGSIZE)
        if (*(int *)q != getpid()) _exit(2);
      _exit(0);
    }
    for (char *q = p; q < p + (sz / 2); q += PGSIZE) *(int *)q = 9999;
    int st;
    if (waitpid(pid2, &st, 0) != pid2 || !exited0(st)) _exit(3);
    for (char *q = p; q < p + (sz / 2); q += PGSIZE)
      if (*(int *)q != 9999) _exit(4);
    _exit(0);
  }
  for (char *q = p; q < p + sz; q += PGSIZE) *(int *)q = getpid();
  int st;
  CHECK(waitpid(pid1, &st, 0) == pid1, "wait");
  CHECK(exited0(st), "child status %#x", st);
  sleep_ms(10);
  for (char *q = p; q < p + sz; q += PGSIZE) CHECK(*(int *)q == getpid(), "wrong content");
  CHECK(sbrk(-sz) != SBRK_FAILED, "sbrk(-%ld) failed", sz);
  CHECK(free_ram() + free0 / 16 > free0, "%lu bytes free after, %lu before", free_ram(), free0);
}

/* Pages of their own around buf, as in the lab: the read below writes only buf's. */
static char junk1[4096];
static int fds[2];
static char junk2[4096];
static char buf[4096];
static char junk3[4096];

/* read() into a COW-shared page: the kernel's copy to user memory must break the
 * sharing, as a store would. */
static void filetest(void) {
  enum { N = 4 };
  buf[0] = 99;
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    CHECK(pipe(fds) == 0, "pipe() failed");
    pids[i] = fork();
    CHECK(pids[i] >= 0, "fork failed");
    if (pids[i] == 0) {
      sleep_ms(1);
      if (read(fds[0], buf, sizeof(i)) != sizeof(i)) _exit(1);
      sleep_ms(1);
      int j = *(int *)buf;
      _exit(j == i ? 0 : 2);
    }
    CHECK(write(fds[1], &i, sizeof(i)) == sizeof(i), "write failed");
    close(fds[0]);
    close(fds[1]);
  }
  for (int i = 0; i < N; i++) {
    int st;
    CHECK(waitpid(pids[i], &st, 0) == pids[i], "wait");
    CHECK(exited0(st), "child %d status %#x (1: read failed, 2: read the wrong value)", i, st);
  }
  CHECK(buf[0] == 99, "child overwrote parent");
  CHECK(junk1[0] == 0 && junk2[0] == 0 && junk3[0] == 0, "neighbouring pages changed");
}

/* Races in page reference counting: 100 rounds of three children, each forking twice
 * after a short sleep (so the forks of all overlap); each of the four processes of a
 * child writes one page of the shared region and exits 0 if its forks worked. */
static void forkforktest(void) {
  enum { SZ = 256 * 4096, CHILDREN = 3, ROUNDS = 100 };
  char *p = sbrk(SZ);
  CHECK(p != SBRK_FAILED, "sbrk");
  memset(p, 27, SZ);
  for (int iter = 0; iter < ROUNDS; iter++) {
    pid_t pids[CHILDREN];
    for (int nc = 0; nc < CHILDREN; nc++) {
      pids[nc] = fork();
      CHECK(pids[nc] >= 0, "fork");
      if (pids[nc] == 0) {
        sleep_ms(1);
        int n = (fork() >= 0) + (fork() >= 0);
        p[(getpid() % 256) * 4096] = 1;
        _exit(n == 2 ? 0 : 1);
      }
    }
    for (int nc = 0; nc < CHILDREN; nc++) {
      int st;
      CHECK(waitpid(pids[nc], &st, 0) == pids[nc], "wait");
    }
  }
  sleep_ms(5);
  for (int i = 0; i < SZ; i += 4096) CHECK(p[i] == 27, "error: parent's memory was modified!");
}

/* Runs one scenario in a child and reaps it and every orphan until none is left; the
 * scenario and every orphan must exit 0. */
static void run(const char *name, void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0, "fork for %s", name);
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int st, scenario_st = -1, orphans_bad = 0;
  pid_t w;
  while ((w = wait(&st)) > 0) {
    if (w == pid)
      scenario_st = st;
    else
      orphans_bad += !exited0(st);
  }
  CHECK(errno == ECHILD, "wait");
  CHECK(exited0(scenario_st), "%s: status %#x", name, scenario_st);
  CHECK(orphans_bad == 0, "%s: %d orphans failed", name, orphans_bad);
  printf("%s: %s ok\n", TEST_NAME, name);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getpid() != 1) CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  run("simple", simpletest);
  /* check that the first simpletest() freed the physical memory. */
  run("simple", simpletest);
  run("three", threetest);
  run("three", threetest);
  run("three", threetest);
  run("file", filetest);
  run("forkfork", forkforktest);
  return test_ok();
}
