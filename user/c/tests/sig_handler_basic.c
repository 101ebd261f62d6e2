/* sig_handler_basic — issue "Signals, process groups and sessions", part 1: running a handler.
 * Covers: rt_sigaction with and without SA_SIGINFO; the handler gets the right signo; siginfo for
 * kill (SI_USER, si_pid, si_uid), tgkill/raise (SI_TKILL) and sigqueue (SI_QUEUE, si_value);
 * the ucontext (uc_sigmask = mask before delivery, uc_mcontext.pc/sp plausible); the mask while
 * the handler runs = old | sa_mask | the signal (not the signal with SA_NODEFER); SA_RESETHAND
 * resets to SIG_DFL; returning (through the vDSO trampoline, glibc passes no SA_RESTORER)
 * restores the mask; x1/x2 point into the frame on the stack. */
#define TEST_NAME "sig_handler_basic"
#include "common.h"
#include "sig_common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* glibc declares raise, kill, sigqueue, sigprocmask, syscall... "leaf" functions (they never call
 * back into this file), so GCC may keep globals in registers across them; but a signal handler runs
 * inside such a call and writes those globals. SYNCED(call) is the call followed by a compiler
 * memory barrier, so everything is re-read afterwards. */
#define SYNCED(call) ({ __typeof__(call) r_ = (call); __asm__ volatile("" ::: "memory"); r_; })

extern char __executable_start[], etext[]; /* linker-provided text bounds */
static volatile sig_atomic_t hits;
static volatile int got_signo;
static siginfo_t got_info;
static sigset_t got_mask_in_handler;   /* sigprocmask() inside the handler */
static sigset_t got_uc_mask;           /* ucontext's uc_sigmask */
static uint64_t got_pc, got_sp;
static uintptr_t got_info_addr, got_uc_addr, got_local_addr;
static struct sigaction got_act_in_handler;

static void plain_handler(int sig) {
  hits++;
  got_signo = sig;
  sigprocmask(SIG_BLOCK, NULL, &got_mask_in_handler);
  sigaction(sig, NULL, &got_act_in_handler);
}

static void info_handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  volatile int local = 0;
  hits++;
  got_signo = sig;
  got_info = *si;
  got_uc_mask = uc->uc_sigmask;
  got_pc = uc->uc_mcontext.pc;
  got_sp = uc->uc_mcontext.sp;
  got_info_addr = (uintptr_t)si;
  got_uc_addr = (uintptr_t)uc;
  got_local_addr = (uintptr_t)&local;
  sigprocmask(SIG_BLOCK, NULL, &got_mask_in_handler);
  sigaction(sig, NULL, &got_act_in_handler);
}

static void set_handler(int sig, void *fn, int flags, const sigset_t *mask) {
  install_handler(sig, fn, flags, mask);
}

static void reset(void) {
  hits = 0;
  got_signo = 0;
  memset(&got_info, 0, sizeof got_info);
  sigemptyset(&got_mask_in_handler);
  sigemptyset(&got_uc_mask);
}

static int same_mask(const sigset_t *a, const sigset_t *b) {
  for (int s = 1; s < 65; s++)
    if (sigismember(a, s) != sigismember(b, s))
      return 0;
  return 1;
}

static uint64_t mask_bits(const sigset_t *m) {
  uint64_t v = 0;
  for (int s = 1; s < 65; s++)
    if (sigismember(m, s) == 1)
      v |= 1ull << (s - 1);
  return v;
}

static void current_mask(sigset_t *m) { CHECK(sigprocmask(SIG_BLOCK, NULL, m) == 0, "sigprocmask query"); }

int main(void) {
  pid_t me = getpid();
  uid_t uid = getuid();
  sigset_t empty, m, expect;
  sigemptyset(&empty);
  CHECK(sigprocmask(SIG_SETMASK, &empty, NULL) == 0, "clear mask");

  /* 1. Plain handler via raise(): glibc's raise is tgkill -> SI_TKILL. */
  reset();
  set_handler(SIGUSR1, plain_handler, 0, NULL);
  CHECK(SYNCED(raise(SIGUSR1)) == 0, "raise");
  CHECK(hits == 1, "plain handler ran %d times after raise, expected 1", (int)hits);
  CHECK(got_signo == SIGUSR1, "plain handler got signo %d, expected %d", got_signo, SIGUSR1);
  sigemptyset(&expect);
  sigaddset(&expect, SIGUSR1);
  CHECK(same_mask(&got_mask_in_handler, &expect),
        "mask in plain handler %#llx, expected only SIGUSR1 (%#llx)",
        (unsigned long long)mask_bits(&got_mask_in_handler), (unsigned long long)mask_bits(&expect));
  CHECK(got_act_in_handler.sa_handler == plain_handler, "action changed during handler without SA_RESETHAND");
  current_mask(&m);
  CHECK(same_mask(&m, &empty), "mask after return %#llx, expected empty", (unsigned long long)mask_bits(&m));

  /* 2. SA_SIGINFO via kill(): SI_USER with our pid and uid. */
  reset();
  set_handler(SIGUSR2, info_handler, SA_SIGINFO, NULL);
  CHECK(SYNCED(kill(me, SIGUSR2)) == 0, "kill self");
  CHECK(hits == 1, "info handler ran %d times after kill, expected 1", (int)hits);
  CHECK(got_signo == SIGUSR2, "info handler signo %d", got_signo);
  CHECK(got_info.si_signo == SIGUSR2, "si_signo %d, expected %d", got_info.si_signo, SIGUSR2);
  CHECK(got_info.si_errno == 0, "si_errno %d", got_info.si_errno);
  CHECK(got_info.si_code == SI_USER, "kill: si_code %d, expected SI_USER (0)", got_info.si_code);
  CHECK(got_info.si_pid == me, "kill: si_pid %d, expected %d", got_info.si_pid, me);
  CHECK(got_info.si_uid == uid, "kill: si_uid %d, expected %d", got_info.si_uid, uid);
  CHECK(same_mask(&got_uc_mask, &empty), "uc_sigmask %#llx, expected the pre-delivery mask (empty)",
        (unsigned long long)mask_bits(&got_uc_mask));
  /* siginfo and ucontext live in the frame on our stack, just below the handler's own locals. */
  CHECK(got_info_addr < got_uc_addr && got_uc_addr - got_info_addr == 128,
        "ucontext at %#lx is not 128 bytes after siginfo at %#lx", (unsigned long)got_uc_addr,
        (unsigned long)got_info_addr);
  CHECK(got_local_addr < got_info_addr && got_info_addr - got_local_addr < 4096,
        "handler local %#lx not just below the frame %#lx", (unsigned long)got_local_addr,
        (unsigned long)got_info_addr);
  CHECK(got_sp > got_info_addr && got_sp - got_info_addr < 65536 && (got_sp & 15) == 0,
        "uc_mcontext.sp %#llx implausible (frame at %#lx)", (unsigned long long)got_sp,
        (unsigned long)got_info_addr);
  /* The interrupted pc is the instruction after the kill syscall's svc, inside the program text. */
  CHECK(got_pc >= (uintptr_t)__executable_start && got_pc < (uintptr_t)etext && (got_pc & 3) == 0,
        "uc_mcontext.pc %#llx is not in the program text [%p, %p)", (unsigned long long)got_pc,
        (void *)__executable_start, (void *)etext);
  CHECK(*(uint32_t *)(uintptr_t)(got_pc - 4) == 0xd4000001, "instruction before uc_mcontext.pc is %#x, not svc #0",
        *(uint32_t *)(uintptr_t)(got_pc - 4));

  /* 3. tgkill: SI_TKILL, si_pid/si_uid of the sender. */
  reset();
  CHECK(SYNCED(syscall(SYS_tgkill, me, (pid_t)syscall(SYS_gettid), SIGUSR2)) == 0, "tgkill");
  CHECK(hits == 1, "handler ran %d times after tgkill", (int)hits);
  CHECK(got_info.si_code == SI_TKILL, "tgkill: si_code %d, expected SI_TKILL (-6)", got_info.si_code);
  CHECK(got_info.si_pid == me && got_info.si_uid == uid, "tgkill: si_pid %d si_uid %d",
        got_info.si_pid, got_info.si_uid);

  /* 4. raise with SA_SIGINFO: also SI_TKILL (glibc raise = tgkill). */
  reset();
  CHECK(SYNCED(raise(SIGUSR2)) == 0, "raise");
  CHECK(got_info.si_code == SI_TKILL, "raise: si_code %d, expected SI_TKILL", got_info.si_code);

  /* 5. sigqueue: SI_QUEUE and the value, for a standard and a real-time signal. */
  reset();
  union sigval v = {.sival_int = 0x5eed1234};
  CHECK(SYNCED(sigqueue(me, SIGUSR2, v)) == 0, "sigqueue");
  CHECK(hits == 1, "handler ran %d times after sigqueue", (int)hits);
  CHECK(got_info.si_code == SI_QUEUE, "sigqueue: si_code %d, expected SI_QUEUE (-1)", got_info.si_code);
  CHECK(got_info.si_pid == me && got_info.si_uid == uid, "sigqueue: si_pid %d si_uid %d",
        got_info.si_pid, got_info.si_uid);
  CHECK(got_info.si_value.sival_int == 0x5eed1234, "sigqueue: si_value %#x", got_info.si_value.sival_int);
  reset();
  set_handler(SIGRTMIN + 2, info_handler, SA_SIGINFO, NULL);
  v.sival_ptr = (void *)0x123456789abcdef0ull;
  CHECK(SYNCED(sigqueue(me, SIGRTMIN + 2, v)) == 0, "sigqueue rt");
  CHECK(hits == 1 && got_signo == SIGRTMIN + 2, "rt handler: hits %d signo %d", (int)hits, got_signo);
  CHECK(got_info.si_value.sival_ptr == (void *)0x123456789abcdef0ull, "rt si_value %p",
        got_info.si_value.sival_ptr);

  /* 6. sa_mask and a pre-existing blocked signal: mask in handler = old | sa_mask | sig,
   *    uc_sigmask = old; after return the mask is old again. */
  reset();
  sigset_t samask, old;
  sigemptyset(&samask);
  sigaddset(&samask, SIGTERM);
  sigaddset(&samask, SIGRTMIN + 5);
  set_handler(SIGUSR2, info_handler, SA_SIGINFO, &samask);
  sigemptyset(&old);
  sigaddset(&old, SIGHUP);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "block SIGHUP");
  CHECK(SYNCED(kill(me, SIGUSR2)) == 0, "kill");
  CHECK(hits == 1, "sa_mask case: hits %d", (int)hits);
  expect = old;
  sigaddset(&expect, SIGTERM);
  sigaddset(&expect, SIGRTMIN + 5);
  sigaddset(&expect, SIGUSR2);
  CHECK(same_mask(&got_mask_in_handler, &expect), "mask in handler %#llx, expected old|sa_mask|sig %#llx",
        (unsigned long long)mask_bits(&got_mask_in_handler), (unsigned long long)mask_bits(&expect));
  CHECK(same_mask(&got_uc_mask, &old), "uc_sigmask %#llx, expected the old mask %#llx",
        (unsigned long long)mask_bits(&got_uc_mask), (unsigned long long)mask_bits(&old));
  current_mask(&m);
  CHECK(same_mask(&m, &old), "mask after handler %#llx, expected %#llx restored",
        (unsigned long long)mask_bits(&m), (unsigned long long)mask_bits(&old));
  CHECK(sigprocmask(SIG_SETMASK, &empty, NULL) == 0, "clear mask");

  /* 7. SA_NODEFER: the signal itself is not added (sa_mask still is). */
  reset();
  set_handler(SIGUSR2, info_handler, SA_SIGINFO | SA_NODEFER, &samask);
  CHECK(SYNCED(kill(me, SIGUSR2)) == 0, "kill");
  CHECK(hits == 1, "nodefer: hits %d", (int)hits);
  sigemptyset(&expect);
  sigaddset(&expect, SIGTERM);
  sigaddset(&expect, SIGRTMIN + 5);
  CHECK(same_mask(&got_mask_in_handler, &expect), "SA_NODEFER mask in handler %#llx, expected %#llx",
        (unsigned long long)mask_bits(&got_mask_in_handler), (unsigned long long)mask_bits(&expect));

  /* 8. SA_RESETHAND: the action is SIG_DFL already inside the handler and after; one delivery only. */
  reset();
  set_handler(SIGWINCH, plain_handler, SA_RESETHAND, NULL);
  CHECK(SYNCED(raise(SIGWINCH)) == 0, "raise SIGWINCH");
  CHECK(hits == 1, "resethand: hits %d", (int)hits);
  CHECK(got_act_in_handler.sa_handler == SIG_DFL, "SA_RESETHAND: action inside handler is %p, expected SIG_DFL",
        (void *)got_act_in_handler.sa_handler);
  struct sigaction now;
  CHECK(sigaction(SIGWINCH, NULL, &now) == 0, "query");
  CHECK(now.sa_handler == SIG_DFL, "SA_RESETHAND: action after is %p, expected SIG_DFL", (void *)now.sa_handler);
  /* SIGWINCH's default is ignore, so raising it again must not run the handler or kill us. */
  CHECK(SYNCED(raise(SIGWINCH)) == 0, "raise SIGWINCH again");
  CHECK(hits == 1, "resethand: handler ran again (%d)", (int)hits);
  /* Linux 6.1 still blocks the signal during an SA_RESETHAND handler (no implied SA_NODEFER). */
  sigemptyset(&expect);
  sigaddset(&expect, SIGWINCH);
  CHECK(same_mask(&got_mask_in_handler, &expect), "SA_RESETHAND mask in handler %#llx, expected SIGWINCH only",
        (unsigned long long)mask_bits(&got_mask_in_handler));

  /* 9. A blocked signal is delivered when unblocked, before sigprocmask returns. */
  reset();
  set_handler(SIGUSR1, plain_handler, 0, NULL);
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0, "block");
  CHECK(SYNCED(kill(me, SIGUSR1)) == 0, "kill");
  CHECK(hits == 0, "blocked signal delivered (%d)", (int)hits);
  CHECK(SYNCED(sigprocmask(SIG_UNBLOCK, &m, NULL)) == 0, "unblock");
  CHECK(hits == 1, "unblocked pending signal not delivered on return from sigprocmask (%d)", (int)hits);

  /* 10. A signal from another process. */
  reset();
  set_handler(SIGUSR2, info_handler, SA_SIGINFO, NULL);
  CHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0, "block");
  sigaddset(&m, SIGUSR2);
  CHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0, "block usr2");
  pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) {
    kill(getppid(), SIGUSR2);
    _exit(0);
  }
  sigset_t wait_mask;
  sigfillset(&wait_mask);
  sigdelset(&wait_mask, SIGUSR2);
  sigsuspend(&wait_mask);
  CHECK(hits == 1, "signal from child: hits %d", (int)hits);
  CHECK(got_info.si_code == SI_USER && got_info.si_pid == child, "from child: si_code %d si_pid %d (child %d)",
        got_info.si_code, got_info.si_pid, child);
  int st;
  CHECK(waitpid(child, &st, 0) == child && st == 0, "child status %#x", st);
  return test_ok();
}
