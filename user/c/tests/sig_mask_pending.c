/* sig_mask_pending — issue "Signals, process groups and sessions", part 7: blocked masks, pending
 * sets, queueing and which thread takes a signal.
 * Covers: rt_sigprocmask SIG_BLOCK/SIG_UNBLOCK/SIG_SETMASK and EINVAL for a bad `how` or sigsetsize;
 * SIGKILL/SIGSTOP silently never blocked; sigpending shows blocked pending signals, both
 * process-directed (kill) and thread-directed (tgkill), and a thread only sees its own private
 * ones; a standard signal sent 3 times while blocked is delivered once; real-time signals queue
 * every instance with its value, lowest number first, FIFO within a number (sigwaitinfo, and
 * handlers with a full sa_mask); sigtimedwait returns the signal and its siginfo, EAGAIN on timeout,
 * timeout 0 polls; sigsuspend returns after a handler with the old mask back; a process-directed
 * signal goes to the one thread that does not block it, or waits until one unblocks it; tgkill
 * targets one thread; pthread_sigmask is per thread. */
#define TEST_NAME "sig_mask_pending"
#include "common.h"
#include "sig_common.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* See sig_handler_basic.c: a compiler barrier after leaf libc calls that run handlers. */
#define SYNCED(call) ({ __typeof__(call) r_ = (call); __asm__ volatile("" ::: "memory"); r_; })

#define BIT(s) (1ull << ((s) - 1))

/* The raw system call with the kernel's 8-byte sigset: no glibc filtering of its internal signals. */
static long raw_mask(int how, const uint64_t *set, uint64_t *old, size_t size) {
  return syscall(SYS_rt_sigprocmask, how, set, old, size);
}
static uint64_t cur_mask(void) {
  uint64_t m = 0;
  CHECK(raw_mask(SIG_BLOCK, NULL, &m, 8) == 0, "query mask");
  return m;
}
static uint64_t pending(void) {
  uint64_t p = 0;
  CHECK(syscall(SYS_rt_sigpending, &p, 8) == 0, "rt_sigpending");
  return p;
}
static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static volatile int hits[65];
static volatile int order[32], norder;
static volatile int values[32];
static void count_handler(int sig) { hits[sig]++; }
static void order_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (norder < 32) {
    order[norder] = sig;
    values[norder] = si->si_value.sival_int;
    norder++;
  }
}

static int tid_pipe[2];
static void tid_handler(int sig) {
  int t = gettid_() * 100 + sig;   /* which thread, which signal */
  if (write(tid_pipe[1], &t, sizeof t) != sizeof t)
    _exit(99);
}

static void set_action(int sig, void *fn, int flags, int full_mask) {
  sigset_t mask;
  if (full_mask)
    sigfillset(&mask);
  else
    sigemptyset(&mask);
  install_handler(sig, fn, flags, &mask);
}

/* Threads for the "who takes it" part. */
struct worker {
  pthread_t th;
  pid_t tid;
  int unblock;            /* unblocks SIGUSR1 and waits for it in sigsuspend */
  int go[2];              /* main -> worker: a byte means "exit" */
  uint64_t pending_seen;  /* rt_sigpending as seen by the worker, on request */
};
static int ready_pipe[2];

static void *worker_fn(void *arg) {
  struct worker *w = arg;
  w->tid = gettid_();
  char c = 0;
  if (write(ready_pipe[1], &c, 1) != 1)
    return NULL;
  for (;;) {
    if (read(w->go[0], &c, 1) != 1)
      return NULL;
    if (c == 'x')
      return NULL;
    if (c == 'p') {        /* report my pending set */
      w->pending_seen = pending();
    } else if (c == 'u') { /* unblock SIGUSR1 and wait for it */
      sigset_t m;
      sigemptyset(&m);
      sigaddset(&m, SIGUSR1);
      pthread_sigmask(SIG_UNBLOCK, &m, NULL);
    }
    if (write(ready_pipe[1], &c, 1) != 1)
      return NULL;
  }
}
static void tell(struct worker *w, char c) {
  CHECK(write(w->go[1], &c, 1) == 1, "tell");
  CHECK(read(ready_pipe[0], &c, 1) == 1, "ack");
}
static int read_tid_report(void) {
  int t = 0;
  CHECK(read(tid_pipe[0], &t, sizeof t) == sizeof t, "read tid report");
  return t;
}

int main(void) {
  pid_t me = getpid();
  uint64_t m, old;

  /* rt_sigprocmask. */
  m = 0;
  CHECK(raw_mask(SIG_SETMASK, &m, NULL, 8) == 0, "SETMASK 0");
  CHECK(cur_mask() == 0, "mask not empty");
  m = BIT(SIGUSR1) | BIT(SIGTERM);
  CHECK(raw_mask(SIG_BLOCK, &m, &old, 8) == 0 && old == 0, "BLOCK");
  m = BIT(SIGHUP);
  CHECK(raw_mask(SIG_BLOCK, &m, &old, 8) == 0 && old == (BIT(SIGUSR1) | BIT(SIGTERM)), "BLOCK adds: old %#llx",
        (unsigned long long)old);
  m = BIT(SIGUSR1);
  CHECK(raw_mask(SIG_UNBLOCK, &m, NULL, 8) == 0, "UNBLOCK");
  CHECK(cur_mask() == (BIT(SIGTERM) | BIT(SIGHUP)), "after UNBLOCK %#llx", (unsigned long long)cur_mask());
  m = BIT(SIGINT);
  CHECK(raw_mask(SIG_SETMASK, &m, NULL, 8) == 0 && cur_mask() == BIT(SIGINT), "SETMASK");
  errno = 0;
  CHECK(raw_mask(3, &m, NULL, 8) == -1 && errno == EINVAL, "how 3: expected EINVAL");
  errno = 0;
  CHECK(raw_mask(-1, &m, NULL, 8) == -1 && errno == EINVAL, "how -1: expected EINVAL");
  errno = 0;
  CHECK(raw_mask(SIG_BLOCK, &m, NULL, 4) == -1 && errno == EINVAL, "sigsetsize 4: expected EINVAL");
  CHECK(cur_mask() == BIT(SIGINT), "mask changed by failed calls");
  CHECK(raw_mask(77, NULL, &old, 8) == 0 && old == BIT(SIGINT), "a query (set NULL) ignores `how` on Linux");
  m = ~0ull;
  CHECK(raw_mask(SIG_SETMASK, &m, NULL, 8) == 0, "block everything");
  CHECK(cur_mask() == (~0ull & ~BIT(SIGKILL) & ~BIT(SIGSTOP)), "block all gives %#llx, expected all but KILL/STOP",
        (unsigned long long)cur_mask());
  m = 0;
  CHECK(raw_mask(SIG_SETMASK, &m, NULL, 8) == 0, "unblock everything");

  /* sigpending, and a standard signal that merges. */
  set_action(SIGUSR1, count_handler, 0, 0);
  set_action(SIGUSR2, count_handler, 0, 0);
  m = BIT(SIGUSR1) | BIT(SIGUSR2);
  CHECK(raw_mask(SIG_BLOCK, &m, NULL, 8) == 0, "block USR1/USR2");
  CHECK(pending() == 0, "pending %#llx, expected none", (unsigned long long)pending());
  for (int i = 0; i < 3; i++)
    CHECK(kill(me, SIGUSR1) == 0, "kill");
  CHECK(syscall(SYS_tgkill, me, gettid_(), SIGUSR2) == 0, "tgkill");
  CHECK(pending() == (BIT(SIGUSR1) | BIT(SIGUSR2)), "pending %#llx, expected USR1|USR2", (unsigned long long)pending());
  CHECK(hits[SIGUSR1] == 0 && hits[SIGUSR2] == 0, "blocked signals delivered");
  m = BIT(SIGUSR1) | BIT(SIGUSR2);
  CHECK(SYNCED(raw_mask(SIG_UNBLOCK, &m, NULL, 8)) == 0, "unblock");
  CHECK(hits[SIGUSR1] == 1, "SIGUSR1 sent 3 times while blocked was delivered %d times, expected 1", hits[SIGUSR1]);
  CHECK(hits[SIGUSR2] == 1, "SIGUSR2 (tgkill) delivered %d times", hits[SIGUSR2]);
  CHECK(pending() == 0, "pending after unblock %#llx", (unsigned long long)pending());
  /* An ignored signal that is blocked is still queued (Linux: "blocked signals are never ignored,
   * since the handler may change by the time it is unblocked"); setting SIG_IGN discards it. */
  set_action(SIGURG, SIG_IGN, 0, 0);
  m = BIT(SIGURG) | BIT(SIGWINCH);
  raw_mask(SIG_BLOCK, &m, NULL, 8);
  kill(me, SIGURG);
  kill(me, SIGWINCH);
  CHECK(pending() == (BIT(SIGURG) | BIT(SIGWINCH)), "blocked SIG_IGN SIGURG and SIG_DFL SIGWINCH: pending %#llx",
        (unsigned long long)pending());
  set_action(SIGURG, SIG_IGN, 0, 0);
  CHECK(pending() == BIT(SIGWINCH), "setting SIG_IGN did not discard pending SIGURG (%#llx)",
        (unsigned long long)pending());
  raw_mask(SIG_UNBLOCK, &m, NULL, 8);
  CHECK(pending() == 0, "SIGWINCH (default ignore) still pending after unblock (%#llx)", (unsigned long long)pending());
  /* Not blocked and ignored: dropped at once. */
  kill(me, SIGURG);
  raw_mask(SIG_BLOCK, &m, NULL, 8);
  CHECK(pending() == 0, "an unblocked ignored signal was queued (%#llx)", (unsigned long long)pending());
  raw_mask(SIG_UNBLOCK, &m, NULL, 8);

  /* Real-time signals queue: sigwaitinfo order is lowest number first, FIFO with values. */
  int ra = SIGRTMIN + 1, rb = SIGRTMIN + 3;
  sigset_t ws;
  sigemptyset(&ws);
  sigaddset(&ws, ra);
  sigaddset(&ws, rb);
  sigaddset(&ws, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &ws, NULL) == 0, "block rt");
  for (int i = 1; i <= 3; i++)
    CHECK(sigqueue(me, rb, (union sigval){.sival_int = 100 + i}) == 0, "sigqueue");
  for (int i = 1; i <= 2; i++)
    CHECK(sigqueue(me, ra, (union sigval){.sival_int = 200 + i}) == 0, "sigqueue");
  CHECK(kill(me, SIGUSR1) == 0, "kill");
  CHECK(pending() == (BIT(ra) | BIT(rb) | BIT(SIGUSR1)), "pending %#llx", (unsigned long long)pending());
  int want_sig[] = {SIGUSR1, ra, ra, rb, rb, rb};
  int want_val[] = {0, 201, 202, 101, 102, 103};
  for (int i = 0; i < 6; i++) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int s = sigwaitinfo(&ws, &si);
    CHECK(s == want_sig[i], "sigwaitinfo #%d returned %d, expected %d", i, s, want_sig[i]);
    CHECK(si.si_signo == s, "si_signo %d", si.si_signo);
    if (s == SIGUSR1) {
      CHECK(si.si_code == SI_USER && si.si_pid == me, "kill: si_code %d si_pid %d", si.si_code, si.si_pid);
    } else {
      CHECK(si.si_code == SI_QUEUE && si.si_pid == me && si.si_value.sival_int == want_val[i],
            "rt #%d: si_code %d si_pid %d value %d, expected SI_QUEUE %d", i, si.si_code, si.si_pid,
            si.si_value.sival_int, want_val[i]);
    }
  }
  CHECK(pending() == 0, "pending after sigwaitinfo %#llx", (unsigned long long)pending());

  /* The same through handlers (full sa_mask, so they run one after another in dequeue order). */
  set_action(ra, order_handler, SA_SIGINFO, 1);
  set_action(rb, order_handler, SA_SIGINFO, 1);
  for (int i = 1; i <= 3; i++)
    sigqueue(me, rb, (union sigval){.sival_int = 100 + i});
  for (int i = 1; i <= 2; i++)
    sigqueue(me, ra, (union sigval){.sival_int = 200 + i});
  norder = 0;
  sigemptyset(&ws);
  sigaddset(&ws, ra);
  sigaddset(&ws, rb);
  CHECK(SYNCED(sigprocmask(SIG_UNBLOCK, &ws, NULL)) == 0, "unblock rt");
  CHECK(norder == 5, "%d rt handlers ran, expected 5", (int)norder);
  for (int i = 0; i < 5; i++)
    CHECK(order[i] == want_sig[i + 1] && values[i] == want_val[i + 1], "handler #%d: signal %d value %d, expected %d %d",
          i, order[i], values[i], want_sig[i + 1], want_val[i + 1]);

  /* sigtimedwait: timeout 0 polls, a timeout expires with EAGAIN, a pending one is returned. */
  sigemptyset(&ws);
  sigaddset(&ws, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &ws, NULL) == 0, "block");
  struct timespec zero = {0, 0}, short_ = {0, 50000000};
  errno = 0;
  CHECK(sigtimedwait(&ws, NULL, &zero) == -1 && errno == EAGAIN, "sigtimedwait(0) with nothing pending: expected EAGAIN");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  errno = 0;
  CHECK(sigtimedwait(&ws, NULL, &short_) == -1 && errno == EAGAIN, "sigtimedwait(50 ms): expected EAGAIN");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  CHECK(ms >= 49, "sigtimedwait(50 ms) returned after %ld ms", ms);
  CHECK(syscall(SYS_tgkill, me, gettid_(), SIGUSR2) == 0, "tgkill");
  siginfo_t si;
  /* The raw call: glibc's sigtimedwait rewrites si_code SI_TKILL to SI_USER. */
  memset(&si, 0, sizeof si);
  long got = syscall(SYS_rt_sigtimedwait, &ws, &si, &zero, 8);
  CHECK(got == SIGUSR2 && si.si_signo == SIGUSR2 && si.si_code == SI_TKILL && si.si_pid == me,
        "rt_sigtimedwait(0) with SIGUSR2 pending: %ld, si_code %d si_pid %d, expected SI_TKILL", got, si.si_code,
        si.si_pid);
  errno = 0;
  long r = syscall(SYS_rt_sigtimedwait, &ws, NULL, &zero, 4);
  CHECK(r == -1 && errno == EINVAL, "rt_sigtimedwait with sigsetsize 4: %ld, expected EINVAL", r);
  CHECK(sigprocmask(SIG_UNBLOCK, &ws, NULL) == 0, "unblock");

  /* sigsuspend: the handler runs with the temporary mask, then the old one is back. */
  set_action(SIGUSR1, count_handler, 0, 0);
  m = BIT(SIGUSR1) | BIT(SIGHUP);
  CHECK(raw_mask(SIG_SETMASK, &m, NULL, 8) == 0, "block");
  kill(me, SIGUSR1);
  hits[SIGUSR1] = 0;
  sigset_t susp;
  sigemptyset(&susp);
  sigaddset(&susp, SIGTERM);
  errno = 0;
  CHECK(sigsuspend(&susp) == -1 && errno == EINTR, "sigsuspend");
  CHECK(hits[SIGUSR1] == 1, "sigsuspend: handler ran %d times", hits[SIGUSR1]);
  CHECK(cur_mask() == (BIT(SIGUSR1) | BIT(SIGHUP)), "mask after sigsuspend %#llx", (unsigned long long)cur_mask());
  m = 0;
  raw_mask(SIG_SETMASK, &m, NULL, 8);

  /* Threads. Every thread starts with SIGUSR1 blocked (inherited from main). */
  CHECK(pipe(tid_pipe) == 0 && pipe(ready_pipe) == 0, "pipes");
  /* SA_RESTART: the workers sit in read() on their command pipe when a signal arrives. */
  set_action(SIGUSR1, tid_handler, SA_RESTART, 0);
  set_action(SIGUSR2, tid_handler, SA_RESTART, 0);
  m = BIT(SIGUSR1);
  raw_mask(SIG_BLOCK, &m, NULL, 8);
  struct worker w[3];
  memset(w, 0, sizeof w);
  for (int i = 0; i < 3; i++) {
    CHECK(pipe(w[i].go) == 0, "pipe");
    CHECK(pthread_create(&w[i].th, NULL, worker_fn, &w[i]) == 0, "pthread_create");
    char c;
    CHECK(read(ready_pipe[0], &c, 1) == 1, "worker ready");
  }
  /* All block it: a process-directed SIGUSR1 stays pending for the process. */
  CHECK(kill(me, SIGUSR1) == 0, "kill");
  CHECK(pending() & BIT(SIGUSR1), "process-directed SIGUSR1 not pending in main");
  tell(&w[0], 'p');
  CHECK(w[0].pending_seen & BIT(SIGUSR1), "process-directed SIGUSR1 not pending as seen by a thread");
  /* Worker 1 unblocks it: it, and only it, takes the signal. */
  tell(&w[1], 'u');
  int t = read_tid_report();
  CHECK(t == w[1].tid * 100 + SIGUSR1, "pending SIGUSR1 taken by tid %d (sig %d), expected worker 1 tid %d", t / 100,
        t % 100, w[1].tid);
  CHECK(!(pending() & BIT(SIGUSR1)), "SIGUSR1 still pending after worker 1 took it");
  for (int i = 0; i < 3; i++) {
    CHECK(kill(me, SIGUSR1) == 0, "kill");
    t = read_tid_report();
    CHECK(t == w[1].tid * 100 + SIGUSR1, "kill #%d went to tid %d, expected the only unblocking thread %d", i, t / 100,
          w[1].tid);
  }
  /* pthread_sigmask in the worker did not change main's mask. */
  CHECK(cur_mask() & BIT(SIGUSR1), "a thread's pthread_sigmask changed main's mask");
  /* tgkill targets one thread, whatever the others' masks. */
  for (int i = 2; i >= 0; i--) {
    CHECK(syscall(SYS_tgkill, me, w[i].tid, SIGUSR2) == 0, "tgkill worker %d", i);
    t = read_tid_report();
    CHECK(t == w[i].tid * 100 + SIGUSR2, "tgkill to worker %d (tid %d) ran in tid %d", i, w[i].tid, t / 100);
  }
  /* A thread-directed signal that the target blocks is pending for it only. */
  CHECK(syscall(SYS_tgkill, me, w[0].tid, SIGUSR1) == 0, "tgkill blocked");
  tell(&w[0], 'p');
  CHECK(w[0].pending_seen & BIT(SIGUSR1), "tgkill'd blocked SIGUSR1 not pending in its target");
  CHECK(!(pending() & BIT(SIGUSR1)), "a signal for worker 0 shows as pending in main");
  tell(&w[2], 'p');
  CHECK(!(w[2].pending_seen & BIT(SIGUSR1)), "a signal for worker 0 shows as pending in worker 2");
  tell(&w[0], 'u');
  t = read_tid_report();
  CHECK(t == w[0].tid * 100 + SIGUSR1, "worker 0's private SIGUSR1 ran in tid %d", t / 100);
  for (int i = 0; i < 3; i++) {
    char c = 'x';
    CHECK(write(w[i].go[1], &c, 1) == 1, "stop worker");
    CHECK(pthread_join(w[i].th, NULL) == 0, "join");
  }
  return test_ok();
}
