/* sig_altstack — issue "Signals, process groups and sessions", part 5: sigaltstack.
 * Covers: errors (EINVAL for unknown flag bits, ENOMEM for a size below the kernel's MINSIGSTKSZ
 * 5120, EPERM while running on it); the initial state SS_DISABLE; an SA_ONSTACK handler runs on the
 * alternate stack (a local's address is inside it) and sees SS_ONSTACK, a handler without
 * SA_ONSTACK does not; uc_stack in the frame; a nested SA_ONSTACK signal stays on it below the
 * outer frame; catching the SIGSEGV of a stack overflow on it; SS_AUTODISARM (disarmed inside the
 * handler, rearmed by sigreturn); a new thread (CLONE_VM) starts without one, a fork child inherits
 * it. */
#define TEST_NAME "sig_altstack"
#include "common.h"
#include "sig_common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* glibc declares raise, kill, sigqueue, sigprocmask, syscall... "leaf" functions (they never call
 * back into this file), so GCC may keep globals in registers across them; but a signal handler runs
 * inside such a call and writes those globals. SYNCED(call) is the call followed by a compiler
 * memory barrier, so everything is re-read afterwards. */
#define SYNCED(call) ({ __typeof__(call) r_ = (call); __asm__ volatile("" ::: "memory"); r_; })

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)   /* linux/signal.h; glibc does not define it */
#endif

#define ALT_SIZE (64 * 1024)
static char altbuf[ALT_SIZE] __attribute__((aligned(16)));
static char altbuf2[ALT_SIZE] __attribute__((aligned(16)));

static volatile uintptr_t local_addr, nested_local_addr;
static volatile int q_ret, q_errno, set_ret, set_errno, hits, nested;
static stack_t q_in_handler, uc_stack_seen;

static int on_alt(uintptr_t a, const char *buf) { return a >= (uintptr_t)buf && a < (uintptr_t)buf + ALT_SIZE; }

static void nested_handler(int sig) {
  volatile char c;
  (void)sig;
  nested_local_addr = (uintptr_t)&c;
}

static void handler(int sig, siginfo_t *si, void *ucv) {
  volatile char c;
  ucontext_t *uc = ucv;
  (void)si;
  (void)sig;
  hits++;
  local_addr = (uintptr_t)&c;
  uc_stack_seen = uc->uc_stack;
  q_ret = sigaltstack(NULL, &q_in_handler);
  q_errno = errno;
  /* Replacing the alternate stack while running on it is EPERM (unless it was auto-disarmed). */
  stack_t n = {.ss_sp = altbuf2, .ss_size = ALT_SIZE, .ss_flags = 0};
  set_ret = sigaltstack(&n, NULL);
  set_errno = errno;
  if (nested)
    raise(SIGUSR2);
}

static void set_handler(int sig, void *fn, int flags) {
  install_handler(sig, fn, flags, NULL);
}

static sigjmp_buf jb;
static void segv_handler(int sig) {
  volatile char c;
  (void)sig;
  local_addr = (uintptr_t)&c;
  siglongjmp(jb, 1);
}

static volatile int recurse_limit = 1 << 30;   /* never reached: the stack overflows first */
static int recurse(int n) {
  volatile char buf[1024];
  buf[0] = (char)n;
  if (n >= recurse_limit)
    return 0;
  return recurse(n + 1) + buf[0];
}

static void *thread_fn(void *arg) {
  stack_t *o = arg;
  if (sigaltstack(NULL, o) != 0)
    o->ss_flags = -1;
  return NULL;
}

int main(void) {
  stack_t ss, old;

  /* Initial state and errors. */
  CHECK(sigaltstack(NULL, &old) == 0, "query");
  CHECK(old.ss_flags == SS_DISABLE, "initial ss_flags %d, expected SS_DISABLE", old.ss_flags);
  ss = (stack_t){.ss_sp = altbuf, .ss_size = ALT_SIZE, .ss_flags = 0x10};
  errno = 0;
  CHECK(sigaltstack(&ss, NULL) == -1 && errno == EINVAL, "unknown flag 0x10: expected EINVAL");
  ss.ss_flags = SS_ONSTACK | SS_DISABLE;
  errno = 0;
  CHECK(sigaltstack(&ss, NULL) == -1 && errno == EINVAL, "SS_ONSTACK|SS_DISABLE: expected EINVAL");
  ss = (stack_t){.ss_sp = altbuf, .ss_size = 5119, .ss_flags = 0};
  errno = 0;
  CHECK(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM, "size 5119: expected ENOMEM");
  ss.ss_size = 5120;
  CHECK(sigaltstack(&ss, NULL) == 0, "size 5120 (MINSIGSTKSZ) refused");
  CHECK(sigaltstack(NULL, &old) == 0 && old.ss_sp == altbuf && old.ss_size == 5120 && old.ss_flags == 0,
        "query after set: sp %p size %zu flags %d", old.ss_sp, old.ss_size, old.ss_flags);
  ss = (stack_t){.ss_flags = SS_DISABLE};
  CHECK(sigaltstack(&ss, &old) == 0, "disable");
  CHECK(old.ss_size == 5120, "old size %zu", old.ss_size);
  CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE, "after disable: flags %d", old.ss_flags);

  /* A handler with SA_ONSTACK but no alternate stack runs on the normal stack. */
  set_handler(SIGUSR1, handler, SA_SIGINFO | SA_ONSTACK);
  uintptr_t main_local = (uintptr_t)&ss;
  hits = 0;
  SYNCED(raise(SIGUSR1));
  CHECK(hits == 1, "handler did not run");
  CHECK(!on_alt(local_addr, altbuf) && local_addr < main_local && main_local - local_addr < 65536,
        "without an alt stack the handler local %#lx is not just below main's %#lx", (unsigned long)local_addr,
        (unsigned long)main_local);
  CHECK(q_ret == 0 && q_in_handler.ss_flags == SS_DISABLE, "query in handler: flags %d", q_in_handler.ss_flags);
  CHECK(set_ret == 0, "setting an alt stack in a handler on the normal stack failed (%d)", set_errno);
  ss = (stack_t){.ss_flags = SS_DISABLE};
  CHECK(sigaltstack(&ss, NULL) == 0, "disable");

  /* With an alternate stack. */
  ss = (stack_t){.ss_sp = altbuf, .ss_size = ALT_SIZE, .ss_flags = 0};
  CHECK(sigaltstack(&ss, NULL) == 0, "set");
  hits = 0;
  SYNCED(raise(SIGUSR1));
  CHECK(hits == 1, "handler did not run");
  CHECK(on_alt(local_addr, altbuf), "SA_ONSTACK handler local %#lx is not on the alt stack [%p, +%d)",
        (unsigned long)local_addr, (void *)altbuf, ALT_SIZE);
  CHECK(q_ret == 0 && q_in_handler.ss_flags == SS_ONSTACK && q_in_handler.ss_sp == altbuf &&
            q_in_handler.ss_size == ALT_SIZE,
        "query on the alt stack: flags %d sp %p size %zu, expected SS_ONSTACK", q_in_handler.ss_flags,
        q_in_handler.ss_sp, q_in_handler.ss_size);
  CHECK(set_ret == -1 && set_errno == EPERM, "sigaltstack while on it: ret %d errno %d, expected EPERM", set_ret,
        set_errno);
  CHECK(uc_stack_seen.ss_sp == altbuf && uc_stack_seen.ss_size == ALT_SIZE && uc_stack_seen.ss_flags == 0,
        "uc_stack: sp %p size %zu flags %d, expected the alt stack with flags 0 (interrupted code not on it)",
        uc_stack_seen.ss_sp, uc_stack_seen.ss_size, uc_stack_seen.ss_flags);
  CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == 0 && old.ss_sp == altbuf, "after return: flags %d",
        old.ss_flags);

  /* A handler without SA_ONSTACK stays on the normal stack. */
  set_handler(SIGUSR2, nested_handler, 0);
  nested_local_addr = 0;
  SYNCED(raise(SIGUSR2));
  CHECK(nested_local_addr && !on_alt(nested_local_addr, altbuf), "handler without SA_ONSTACK ran on the alt stack");

  /* Nested: an SA_ONSTACK signal raised inside an alt-stack handler continues below its frame. */
  set_handler(SIGUSR2, nested_handler, SA_ONSTACK);
  nested = 1;
  nested_local_addr = 0;
  SYNCED(raise(SIGUSR1));
  nested = 0;
  CHECK(on_alt(local_addr, altbuf) && on_alt(nested_local_addr, altbuf) && nested_local_addr < local_addr,
        "nested on the alt stack: outer local %#lx, inner %#lx", (unsigned long)local_addr,
        (unsigned long)nested_local_addr);

  /* SS_AUTODISARM: inside the handler the alt stack is disarmed (so it may be replaced); the frame's
   * uc_stack puts it back on return. */
  ss = (stack_t){.ss_sp = altbuf, .ss_size = ALT_SIZE, .ss_flags = SS_AUTODISARM};
  CHECK(sigaltstack(&ss, NULL) == 0, "set SS_AUTODISARM");
  CHECK(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_AUTODISARM, "query: flags %#x, expected SS_AUTODISARM",
        old.ss_flags);
  SYNCED(raise(SIGUSR1));
  CHECK(on_alt(local_addr, altbuf), "SS_AUTODISARM: handler not on the alt stack");
  CHECK(q_in_handler.ss_flags == SS_DISABLE, "SS_AUTODISARM: query in handler flags %#x, expected SS_DISABLE",
        q_in_handler.ss_flags);
  CHECK(set_ret == 0, "SS_AUTODISARM: setting a new alt stack in the handler failed (errno %d)", set_errno);
  CHECK(uc_stack_seen.ss_sp == altbuf && (unsigned)uc_stack_seen.ss_flags == SS_AUTODISARM,
        "SS_AUTODISARM: uc_stack sp %p flags %#x", uc_stack_seen.ss_sp, uc_stack_seen.ss_flags);
  CHECK(sigaltstack(NULL, &old) == 0 && old.ss_sp == altbuf && old.ss_flags == SS_AUTODISARM,
        "SS_AUTODISARM: after return sp %p flags %#x, expected the original restored", old.ss_sp, old.ss_flags);
  ss = (stack_t){.ss_sp = altbuf, .ss_size = ALT_SIZE, .ss_flags = 0};
  CHECK(sigaltstack(&ss, NULL) == 0, "set");

  /* A new thread has no alternate stack; a fork child inherits ours. */
  stack_t tq = {.ss_flags = 12345};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, thread_fn, &tq) == 0, "pthread_create");
  CHECK(pthread_join(t, NULL) == 0, "join");
  CHECK(tq.ss_flags == SS_DISABLE, "new thread: alt stack flags %d, expected SS_DISABLE", tq.ss_flags);
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    stack_t c;
    if (sigaltstack(NULL, &c) != 0 || c.ss_sp != altbuf || c.ss_size != ALT_SIZE || c.ss_flags != 0)
      _exit(1);
    raise(SIGUSR1);
    _exit(on_alt(local_addr, altbuf) ? 0 : 2);
  }
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child: status %#x (1: no inherited alt stack, 2: handler not on it)",
        st);

  /* Stack overflow: the SIGSEGV can only be handled on the alternate stack. In a child, with a
   * small stack limit so the overflow comes quickly. */
  p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    struct rlimit rl = {256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_STACK, &rl);
    set_handler(SIGSEGV, segv_handler, SA_ONSTACK);
    if (sigsetjmp(jb, 1) == 0) {
      recurse(0);
      _exit(3);
    }
    _exit(on_alt(local_addr, altbuf) ? 0 : 4);
  }
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stack overflow child: status %#x, expected exit 0", st);
  /* Without an alternate stack the overflow's SIGSEGV cannot be delivered: the child dies of it. */
  p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    struct rlimit rl = {256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_STACK, &rl);
    stack_t d = {.ss_flags = SS_DISABLE};
    sigaltstack(&d, NULL);
    set_handler(SIGSEGV, segv_handler, SA_ONSTACK);
    if (sigsetjmp(jb, 1) == 0)
      recurse(0);
    _exit(5);
  }
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "stack overflow without alt stack: status %#x, expected killed by SIGSEGV", st);
  return test_ok();
}
