/* time_sleep: nanosleep and clock_nanosleep — relative sleeps and TIMER_ABSTIME on
 * CLOCK_MONOTONIC and CLOCK_REALTIME last at least what was asked and not absurdly
 * longer (bounds loose enough for QEMU on a busy host); rem is untouched on success;
 * EINVAL for a malformed timespec, EOPNOTSUPP/EINVAL for clocks Linux cannot sleep on;
 * restart_syscall with nothing to restart is EINTR. The signal cases are in
 * time_signals. */
#define TEST_NAME "time_sleep"
#include "common.h"
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long long now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Slept at least `want` ns and less than `want` + 2 s. */
static void check_span(long long t0, long long t1, long long want, const char *what) {
  CHECK(t1 - t0 >= want, "%s: slept %lld ns < %lld", what, t1 - t0, want);
  CHECK(t1 - t0 < want + 2000000000LL, "%s: slept %lld ns", what, t1 - t0);
}

int main(void) {
  /* nanosleep, 50 ms; rem untouched on success. */
  struct timespec req = {0, 50000000}, rem = {123, 456};
  long long t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(nanosleep(&req, &rem) == 0, "nanosleep");
  check_span(t0, now_ns(CLOCK_MONOTONIC), 50000000, "nanosleep");
  CHECK(rem.tv_sec == 123 && rem.tv_nsec == 456, "rem was written on success");

  /* A zero sleep returns at once. */
  struct timespec zero = {0, 0};
  CHECK(nanosleep(&zero, NULL) == 0, "nanosleep(0)");

  /* clock_nanosleep relative on both clocks. */
  clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
  for (int i = 0; i < 3; i++) {
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(clock_nanosleep(clocks[i], 0, &req, &rem) == 0, "clock_nanosleep(%d)", clocks[i]);
    check_span(t0, now_ns(CLOCK_MONOTONIC), 50000000, "relative");
    CHECK(rem.tv_sec == 123, "rem written");
  }

  /* TIMER_ABSTIME: until a time of the clock itself, 80 ms from now. */
  for (int i = 0; i < 3; i++) {
    long long start = now_ns(clocks[i]);
    long long until = start + 80000000;
    struct timespec abs = {until / 1000000000, until % 1000000000};
    CHECK(clock_nanosleep(clocks[i], TIMER_ABSTIME, &abs, NULL) == 0, "abstime %d", clocks[i]);
    long long end = now_ns(clocks[i]);
    CHECK(end >= until, "clock %d: woke at %lld before %lld", clocks[i], end, until);
    CHECK(end < until + 2000000000LL, "clock %d: woke %lld ns late", clocks[i], end - until);
  }
  /* An absolute time already past returns at once. */
  struct timespec past = {1, 0};
  t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0, "past");
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 1000000000LL, "a past time slept");

  /* Malformed timespecs: EINVAL (clock_nanosleep returns the error itself). */
  struct timespec bad[] = {{0, 1000000000}, {0, -1}, {-1, 0}};
  for (int i = 0; i < 3; i++) {
    errno = 0;
    CHECK(nanosleep(&bad[i], NULL) == -1 && errno == EINVAL, "nanosleep bad %d", i);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad[i], NULL) == EINVAL, "clock_nanosleep bad %d", i);
  }
  /* A bad pointer: EFAULT. */
  errno = 0;
  CHECK(syscall(SYS_nanosleep, (void *)8, NULL) == -1 && errno == EFAULT, "nanosleep EFAULT");
  /* Clocks: a thread's CPU clock cannot be slept on (the kernel says EOPNOTSUPP;
   * glibc answers EINVAL itself), an unknown clock is EINVAL. */
  CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL) == EINVAL, "thread clock");
  errno = 0;
  CHECK(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL) == -1 &&
            errno == EOPNOTSUPP, "thread clock, raw");
  CHECK(clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &req, NULL) == EOPNOTSUPP, "raw clock");
  CHECK(clock_nanosleep(100, 0, &req, NULL) == EINVAL, "clock 100");

  /* restart_syscall with nothing to restart. */
  errno = 0;
  CHECK(syscall(SYS_restart_syscall) == -1 && errno == EINTR, "restart_syscall");
  return test_ok();
}
