/* time_tickless: sleeping costs nothing. While the only task sleeps for a second, an
 * idle CPU takes no periodic tick: it programs its timer for the next deadline and
 * waits. Counted with teachos's KSTAT system call (1000, item 10: timer interrupts
 * taken by all CPUs); on Linux (ENOSYS) only the sleep itself is checked. */
#define TEST_NAME "time_tickless"
#include "common.h"
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define SYS_KSTAT 1000
#define KSTAT_TIMER_IRQS 10

int main(void) {
  long before = syscall(SYS_KSTAT, KSTAT_TIMER_IRQS);
  int have = before >= 0;
  struct timespec t0, t1, req = {1, 0};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(nanosleep(&req, NULL) == 0, "nanosleep");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  CHECK(ns >= 1000000000LL, "slept only %lld ns", ns);
  if (have) {
    long irqs = syscall(SYS_KSTAT, KSTAT_TIMER_IRQS) - before;
    printf("time_tickless: %ld timer interrupts during a 1 s sleep\n", irqs);
    /* A periodic 100 Hz tick would be >= 100 per CPU. */
    CHECK(irqs <= 10, "%ld timer interrupts while everything slept", irqs);
  }
  return test_ok();
}
