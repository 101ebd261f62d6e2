/* sig_fault — issue "Signals, process groups and sessions", part 4: exceptions become catchable
 * signals (thread-directed, synchronous), left with siglongjmp.
 * Covers: SIGSEGV SEGV_MAPERR on an unmapped address and SEGV_ACCERR on a write to a read-only page
 * and on executing a non-executable page (si_addr exact); SIGBUS BUS_ADRERR touching a file mapping
 * beyond EOF and BUS_ADRALN for an unaligned exclusive load; SIGILL ILL_ILLOPC for an undefined
 * instruction and SIGTRAP TRAP_BRKPT for "brk #0" (si_addr = the instruction); integer division by
 * zero raises nothing on arm64 (the result is 0); siglongjmp restores the mask; a fault while its
 * signal is blocked or ignored kills the process with it (children, wait status); a fault inside
 * the handler of the same signal kills without SA_NODEFER and re-enters the handler with it. */
#define _GNU_SOURCE
#define TEST_NAME "sig_fault"
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

__asm__(".text\n"
        ".global do_udf\n.type do_udf, %function\ndo_udf:\n"
        ".global udf_insn\nudf_insn:\n  .inst 0x00000000\n  ret\n"   /* UDF #0 */
        ".global do_brk\n.type do_brk, %function\ndo_brk:\n"
        ".global brk_insn\nbrk_insn:\n  brk #0\n  ret\n"
        ".global do_ldxr\n.type do_ldxr, %function\ndo_ldxr:\n"
        "  ldxr x0, [x0]\n  ret\n");
void do_udf(void);
void do_brk(void);
uint64_t do_ldxr(void *p);
extern char udf_insn[], brk_insn[];

static sigjmp_buf jb;
static volatile int got_sig, depth;
static siginfo_t got_si;
static char *volatile g_hole;   /* an unmapped page */
static int *volatile null_ptr;  /* NULL, hidden from the compiler */

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got_sig = sig;
  got_si = *si;
  siglongjmp(jb, 1);
}

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction %d", sig);
}

/* Runs expr and checks that it raised sig with si_code and si_addr. */
#define EXPECT_FAULT(what, expr, sig, code, addr)                                                      \
  do {                                                                                              \
    got_sig = 0;                                                                                    \
    memset(&got_si, 0, sizeof got_si);                                                              \
    if (sigsetjmp(jb, 1) == 0) {                                                                    \
      expr;                                                                                         \
      CHECK(0, "%s: no signal", what);                                                              \
    }                                                                                               \
    CHECK(got_sig == (sig), "%s: got signal %d, expected %d", what, (int)got_sig, sig);             \
    CHECK(got_si.si_signo == (sig), "%s: si_signo %d", what, got_si.si_signo);                      \
    CHECK(got_si.si_code == (code), "%s: si_code %d, expected %d", what, got_si.si_code, code);     \
    CHECK(got_si.si_addr == (void *)(addr), "%s: si_addr %p, expected %p", what, got_si.si_addr,    \
          (void *)(addr));                                                                          \
    sigset_t m_;                                                                                    \
    sigprocmask(SIG_BLOCK, NULL, &m_);                                                              \
    CHECK(sigismember(&m_, sig) == 0, "%s: signal still blocked after siglongjmp", what);           \
  } while (0)

static void nested_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  (void)si;
  got_sig = sig;
  if (++depth == 1)
    *(volatile int *)(g_hole + 16) = 1;      /* fault again inside the handler */
  siglongjmp(jb, 1);
}

/* Child: fault with SIGSEGV handled by nested_handler (flags), report depth in the exit code. */
static int nested_child(int flags) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    set_handler(SIGSEGV, nested_handler, flags);
    depth = 0;
    if (sigsetjmp(jb, 1) == 0)
      *(volatile int *)(g_hole + 8) = 1;
    _exit(depth);
  }
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  return st;
}

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  set_handler(SIGSEGV, handler, 0);
  set_handler(SIGBUS, handler, 0);
  set_handler(SIGILL, handler, 0);
  set_handler(SIGTRAP, handler, 0);

  /* SIGSEGV, present but not permitted. */
  char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(ro != MAP_FAILED, "mmap ro");
  CHECK(ro[5] == 0, "read of a read-only page");
  EXPECT_FAULT("write read-only", *(volatile char *)(ro + 5) = 1, SIGSEGV, SEGV_ACCERR, ro + 5);
  char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(none != MAP_FAILED, "mmap none");
  EXPECT_FAULT("read PROT_NONE", (void)*(volatile char *)(none + 9), SIGSEGV, SEGV_ACCERR, none + 9);
  /* Executing a readable, non-executable page: si_addr is the branch target. */
  uint32_t *nx = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(nx != MAP_FAILED, "mmap nx");
  nx[0] = 0xd65f03c0;   /* ret */
  EXPECT_FAULT("execute non-exec page", ((void (*)(void))nx)(), SIGSEGV, SEGV_ACCERR, nx);

  /* SIGBUS: a one-byte file mapped over two pages; the second page is beyond EOF. */
  char path[] = "/tmp/sig_fault.XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp %s", path);
  CHECK(write(fd, "x", 1) == 1, "write");
  char *fm = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(fm != MAP_FAILED, "mmap file");
  CHECK(fm[0] == 'x' && fm[pg - 1] == 0, "file page contents");
  EXPECT_FAULT("read beyond EOF", (void)*(volatile char *)(fm + pg + 3), SIGBUS, BUS_ADRERR, fm + pg + 3);

  /* SIGSEGV, unmapped: a page mapped and unmapped again. This comes after every other mmap (and
   * the file mapping stays until the end) so that no later mapping can land in the hole. */
  char *hole = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(hole != MAP_FAILED, "mmap");
  CHECK(munmap(hole, pg) == 0, "munmap");
  g_hole = hole;
  EXPECT_FAULT("read unmapped", (void)*(volatile char *)(hole + 77), SIGSEGV, SEGV_MAPERR, hole + 77);
  EXPECT_FAULT("write unmapped", *(volatile long *)(hole + 1024) = 1, SIGSEGV, SEGV_MAPERR, hole + 1024);
  EXPECT_FAULT("read NULL", (void)*(volatile int *)null_ptr, SIGSEGV, SEGV_MAPERR, 0);

  /* SIGBUS, alignment: exclusive loads must be naturally aligned even on normal memory. */
  static uint64_t words[4];
  char *odd = (char *)words + 4;
  EXPECT_FAULT("unaligned ldxr", do_ldxr(odd), SIGBUS, BUS_ADRALN, odd);

  /* SIGILL and SIGTRAP: si_addr is the instruction itself. */
  EXPECT_FAULT("udf #0", do_udf(), SIGILL, ILL_ILLOPC, udf_insn);
  EXPECT_FAULT("brk #0", do_brk(), SIGTRAP, TRAP_BRKPT, brk_insn);

  /* No SIGFPE on arm64: sdiv/udiv by zero give 0. */
  volatile int zero = 0, ten = 10;
  got_sig = 0;
  CHECK(ten / zero == 0 && got_sig == 0, "integer division by zero: result %d, signal %d", ten / zero,
        (int)got_sig);

  /* A fault whose signal is blocked, or ignored, is fatal even with a handler installed. */
  for (int how = 0; how < 2; how++) {
    pid_t p = fork();
    CHECK(p >= 0, "fork");
    if (p == 0) {
      if (how == 0) {
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGSEGV);
        sigprocmask(SIG_BLOCK, &m, NULL);
      } else {
        signal(SIGSEGV, SIG_IGN);
      }
      *(volatile int *)(hole + 8) = 1;
      _exit(0);
    }
    int st;
    CHECK(waitpid(p, &st, 0) == p, "waitpid");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "fault with SIGSEGV %s: status %#x, expected killed by SIGSEGV",
          how ? "ignored" : "blocked", st);
  }
  /* Same for SIGILL, SIGTRAP and SIGBUS blocked. */
  int sigs[] = {SIGILL, SIGTRAP, SIGBUS};
  for (int i = 0; i < 3; i++) {
    pid_t p = fork();
    CHECK(p >= 0, "fork");
    if (p == 0) {
      sigset_t m;
      sigemptyset(&m);
      sigaddset(&m, sigs[i]);
      sigprocmask(SIG_BLOCK, &m, NULL);
      if (sigs[i] == SIGILL)
        do_udf();
      else if (sigs[i] == SIGTRAP)
        do_brk();
      else
        do_ldxr(odd);
      _exit(0);
    }
    int st;
    CHECK(waitpid(p, &st, 0) == p, "waitpid");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], "fault with signal %d blocked: status %#x", sigs[i], st);
  }

  /* A fault in the SIGSEGV handler: without SA_NODEFER SIGSEGV is blocked there, so it kills. */
  int st = nested_child(0);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "fault in handler (no SA_NODEFER): status %#x, expected SIGSEGV",
        st);
  /* With SA_NODEFER the handler is entered again (depth 2) and can siglongjmp out. */
  st = nested_child(SA_NODEFER);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "fault in handler (SA_NODEFER): status %#x, expected exit 2", st);

  /* Still alive and catching after all that. */
  EXPECT_FAULT("read unmapped again", (void)*(volatile char *)(hole + 1), SIGSEGV, SEGV_MAPERR, hole + 1);
  munmap(fm, 2 * pg);
  close(fd);
  unlink(path);
  return test_ok();
}
