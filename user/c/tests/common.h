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

static inline int test_ok(void) {
  printf("%s: ok\n", TEST_NAME);
  fflush(stdout);
  return 0;
}
#endif
