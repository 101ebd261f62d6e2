/* Shared by the C test programs (user/c/tests/NAME.c -> /bin/NAME, static glibc):
 * the project's result convention — one line "NAME: ok" and exit 0, or
 * "NAME: FAILED why" and exit 1. Every program also passes on Linux
 * (../shared/tools/linux-oracle.sh). */
#ifndef TEACHOS_TEST_COMMON_H
#define TEACHOS_TEST_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/sysinfo.h>
#include <time.h>

#ifndef TEST_NAME
#error "define TEST_NAME before including common.h"
#endif

/* CHECK(cond, fmt, ...): on failure print "NAME: FAILED <line>: <message> (errno)" and exit 1. */
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      int e_ = errno;                                                          \
      printf("%s: FAILED line %d: ", TEST_NAME, __LINE__);                     \
      printf(__VA_ARGS__);                                                     \
      printf(" (errno %d %s)\n", e_, strerror(e_));                            \
      fflush(stdout);                                                          \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* Sleeps ms milliseconds in all, resuming after any signal handler interrupts it. */
static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The machine's free memory in bytes (sysinfo), as the memory-hungry tests size
 * their allocations from it. */
static inline unsigned long free_ram(void) {
  struct sysinfo si;
  CHECK(sysinfo(&si) == 0, "sysinfo");
  return si.freeram * si.mem_unit;
}

static inline int test_ok(void) {
  printf("%s: ok\n", TEST_NAME);
  fflush(stdout);
  return 0;
}
#endif
