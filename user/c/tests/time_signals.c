/* time_signals: the timer behaviour that needs signal delivery — a signal interrupts
 * nanosleep (EINTR, rem = the time left) and a stop/continue restarts it transparently
 * (restart_syscall); SIGALRM from alarm()/ITIMER_REAL, periodic ITIMER_REAL, SIGVTALRM
 * and SIGPROF from the CPU timers; POSIX timers' SIGEV_SIGNAL (si_code SI_TIMER,
 * si_value), periodic expiries, SIGEV_THREAD_ID to one thread, and overruns counted
 * while the signal is blocked. */
#define _GNU_SOURCE
#define TEST_NAME "time_signals"
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile sig_atomic_t got[65];
static volatile int last_code, last_value, last_tid, last_overrun;

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got[sig]++;
  last_code = si->si_code;
  last_value = si->si_value.sival_int;
  last_overrun = si->si_overrun;
  last_tid = syscall(SYS_gettid);
}

static long long mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void wait_for(int sig, int n, long ms) {
  long long end = mono() + ms * 1000000LL;
  while (got[sig] < n && mono() < end) {
    struct timespec t = {0, 1000000};
    nanosleep(&t, NULL);
  }
}

static volatile int thread_go = 1;
static void *spin_thread(void *arg) {
  (void)arg;
  while (thread_go) {
    struct timespec t = {0, 1000000};
    nanosleep(&t, NULL);
  }
  return NULL;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGALRM, SIGVTALRM, SIGPROF, SIGUSR1, SIGRTMIN};
  for (int i = 0; i < 5; i++) CHECK(sigaction(sigs[i], &sa, NULL) == 0, "sigaction");

  /* alarm interrupts nanosleep: EINTR and the time left in rem. */
  struct itimerval it = {{0, 0}, {0, 100000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
  struct timespec req = {5, 0}, rem = {0, 0};
  errno = 0;
  CHECK(nanosleep(&req, &rem) == -1 && errno == EINTR, "nanosleep not interrupted");
  CHECK(got[SIGALRM] == 1, "SIGALRM count %d", got[SIGALRM]);
  CHECK(rem.tv_sec >= 3 && rem.tv_sec <= 5, "rem %ld.%09ld", (long)rem.tv_sec, rem.tv_nsec);
  /* An absolute clock_nanosleep interrupted: EINTR, rem untouched. */
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_sec += 5;
  rem.tv_sec = 77;
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, &rem) == EINTR, "abs not interrupted");
  CHECK(rem.tv_sec == 77, "abs sleep wrote rem");

  /* A stopped and continued sleeper (no handler runs) finishes its sleep: the kernel
   * restarts it through restart_syscall. */
  pid_t pid = fork();
  if (pid == 0) {
    long long t0 = mono();
    struct timespec one = {1, 0};
    int r = nanosleep(&one, NULL);
    _exit(r == 0 && mono() - t0 >= 1000000000LL ? 0 : 1);
  }
  struct timespec ms200 = {0, 200000000};
  nanosleep(&ms200, NULL);
  kill(pid, SIGSTOP);
  nanosleep(&ms200, NULL);
  kill(pid, SIGCONT);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "restarted sleep: %x", st);

  /* Periodic ITIMER_REAL: several SIGALRMs. */
  got[SIGALRM] = 0;
  struct itimerval per = {{0, 20000}, {0, 20000}};
  CHECK(setitimer(ITIMER_REAL, &per, NULL) == 0, "periodic");
  wait_for(SIGALRM, 5, 3000);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  CHECK(got[SIGALRM] >= 5, "periodic SIGALRM count %d", got[SIGALRM]);

  /* CPU timers: SIGVTALRM and SIGPROF after 50 ms of CPU. */
  struct itimerval cpu = {{0, 0}, {0, 50000}};
  CHECK(setitimer(ITIMER_VIRTUAL, &cpu, NULL) == 0 && setitimer(ITIMER_PROF, &cpu, NULL) == 0, "cpu timers");
  volatile unsigned long x = 0;
  long long end = mono() + 3000000000LL;
  while ((got[SIGVTALRM] == 0 || got[SIGPROF] == 0) && mono() < end)
    for (int i = 0; i < 100000; i++) x += i;
  CHECK(got[SIGVTALRM] == 1 && got[SIGPROF] == 1, "SIGVTALRM %d SIGPROF %d", got[SIGVTALRM], got[SIGPROF]);

  /* POSIX timer, SIGEV_SIGNAL with a value, periodic. */
  struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
  sev.sigev_value.sival_int = 4242;
  timer_t t;
  CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create");
  struct itimerspec p10 = {{0, 10000000}, {0, 10000000}};
  CHECK(timer_settime(t, 0, &p10, NULL) == 0, "settime");
  wait_for(SIGUSR1, 5, 3000);
  struct itimerspec zero = {{0, 0}, {0, 0}};
  timer_settime(t, 0, &zero, NULL);
  CHECK(got[SIGUSR1] >= 5, "SIGUSR1 count %d", got[SIGUSR1]);
  CHECK(last_code == SI_TIMER && last_value == 4242, "code %d value %d", last_code, last_value);

  /* Overruns: block the signal across 20 periods of 5 ms, then let it in. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  got[SIGUSR1] = 0;
  struct itimerspec p5 = {{0, 5000000}, {0, 5000000}};
  timer_settime(t, 0, &p5, NULL);
  struct timespec ms100 = {0, 100000000};
  nanosleep(&ms100, NULL);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  int first = got[SIGUSR1], overrun = last_overrun, getoverrun = timer_getoverrun(t);
  timer_settime(t, 0, &zero, NULL);
  CHECK(first == 1, "blocked periodic timer delivered %d signals", first);
  CHECK(overrun >= 5, "si_overrun %d", overrun);
  CHECK(getoverrun >= 0, "timer_getoverrun %d", getoverrun);
  timer_delete(t);

  /* The default sigevent: SIGALRM with the timer id as the value. */
  got[SIGALRM] = 0;
  int id;
  CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id) == 0, "default timer");
  struct itimerspec once = {{0, 0}, {0, 10000000}};
  CHECK(syscall(SYS_timer_settime, id, 0, &once, NULL) == 0, "settime default");
  wait_for(SIGALRM, 1, 3000);
  CHECK(got[SIGALRM] == 1 && last_code == SI_TIMER && last_value == id, "default: %d code %d value %d",
        got[SIGALRM], last_code, last_value);
  syscall(SYS_timer_delete, id);

  /* SIGEV_THREAD_ID: the signal goes to that thread. */
  pthread_t th;
  CHECK(pthread_create(&th, NULL, spin_thread, NULL) == 0, "pthread_create");
  /* Block SIGRTMIN here so only the target thread could take a process signal too. */
  static volatile pid_t target;
  target = 0;
  /* The thread's tid: ask the kernel via /proc would be long; use pthread_gettid_np
   * where available, else the thread reports it. */
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pid_t tids[2];
  tids[0] = syscall(SYS_gettid);
  (void)tids;
  /* Target this (main) thread while it blocks the signal: it must stay pending here,
   * not go to the other thread. */
  struct sigevent tev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN};
  tev._sigev_un._tid = syscall(SYS_gettid);
  CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &tev, &id) == 0, "thread timer");
  got[SIGRTMIN] = 0;
  CHECK(syscall(SYS_timer_settime, id, 0, &once, NULL) == 0, "settime thread timer");
  nanosleep(&ms100, NULL);
  CHECK(got[SIGRTMIN] == 0, "thread-directed signal went to another thread");
  last_tid = 0;
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  CHECK(got[SIGRTMIN] == 1 && last_tid == syscall(SYS_gettid), "thread signal: %d to %d", got[SIGRTMIN], last_tid);
  (void)target;
  thread_go = 0;
  pthread_join(th, NULL);
  return test_ok();
}
