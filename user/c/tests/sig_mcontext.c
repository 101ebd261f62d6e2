/* sig_mcontext — issue "Signals, process groups and sessions", part 3: the arm64 rt_sigframe as a
 * handler sees it, and rt_sigreturn reading it back.
 * Covers: uc_flags/uc_link 0, uc_stack reports SS_DISABLE; uc_mcontext.__reserved holds an
 * fpsimd_context record (magic 0x46508001, size 528) with the interrupted v0..v31, then for a fault
 * an esr_context (magic 0x45535201, size 16; data abort from EL0, WnR for writes), then the
 * terminator; no esr record for kill(); fault_address = the faulting address (0 for kill);
 * changing uc_mcontext.pc/regs/vregs/uc_sigmask in the handler changes how the program resumes
 * (skip a faulting load with pc += 4 and supply its result; make a syscall return another value;
 * SIGKILL/SIGSTOP in uc_sigmask are dropped); a forged pstate claiming EL1, or a corrupted fpsimd
 * record, makes rt_sigreturn kill the process with SIGSEGV (in children, via the wait status). */
#define TEST_NAME "sig_mcontext"
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* glibc declares raise, kill, sigqueue, sigprocmask, syscall... "leaf" functions (they never call
 * back into this file), so GCC may keep globals in registers across them; but a signal handler runs
 * inside such a call and writes those globals. SYNCED(call) is the call followed by a compiler
 * memory barrier, so everything is re-read afterwards. */
#define SYNCED(call) ({ __typeof__(call) r_ = (call); __asm__ volatile("" ::: "memory"); r_; })

/* glibc's <signal.h> brings in the kernel's <asm/sigcontext.h>: struct _aarch64_ctx {magic, size},
 * struct fpsimd_context (FPSIMD_MAGIC 0x46508001), struct esr_context (ESR_MAGIC 0x45535201). */
_Static_assert(FPSIMD_MAGIC == 0x46508001 && ESR_MAGIC == 0x45535201, "record magics");
_Static_assert(sizeof(struct fpsimd_context) == 528 && sizeof(struct esr_context) == 16, "record sizes");
#define ESR_EC_DABT_LOW 0x24u   /* data abort from a lower exception level */

__uint128_t g_vin[32], g_vout[32];

/* fault_load(addr): load g_vin into v0..v31, then "ldr x1, [x0]" at fault_insn; returns x1 and
 * stores v0..v31 into g_vout. fault_store(addr): "str x1, [x0]" at fault_store_insn. */
__asm__(".text\n"
        ".global fault_load\n.type fault_load, %function\nfault_load:\n"
        "  stp d8, d9, [sp, #-64]!\n  stp d10, d11, [sp, #16]\n"
        "  stp d12, d13, [sp, #32]\n  stp d14, d15, [sp, #48]\n"
        "  adrp x2, g_vin\n  add x2, x2, :lo12:g_vin\n"
        "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  ldr q\\n, [x2, #\\n * 16]\n"
        "  .endr\n"
        "  mov x1, #0\n"
        ".global fault_insn\nfault_insn:\n"
        "  ldr x1, [x0]\n"
        "  adrp x2, g_vout\n  add x2, x2, :lo12:g_vout\n"
        "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  str q\\n, [x2, #\\n * 16]\n"
        "  .endr\n"
        "  ldp d10, d11, [sp, #16]\n  ldp d12, d13, [sp, #32]\n  ldp d14, d15, [sp, #48]\n"
        "  ldp d8, d9, [sp], #64\n"
        "  mov x0, x1\n"
        "  ret\n"
        ".global fault_store\n.type fault_store, %function\nfault_store:\n"
        "  mov x1, #7\n"
        ".global fault_store_insn\nfault_store_insn:\n"
        "  str x1, [x0]\n"
        "  ret\n");
uint64_t fault_load(void *addr);
void fault_store(void *addr);
extern char fault_insn[], fault_store_insn[];

static ucontext_t seen_uc;       /* copy of the handler's ucontext */
static siginfo_t seen_si;
static volatile int seen_sig;
static enum { M_NONE, M_SKIP_LOAD, M_SKIP_STORE, M_SET_X0, M_MASK, M_FORGE_EL1, M_BAD_FPSIMD } mode;

static struct fpsimd_context *fpsimd_of(ucontext_t *uc) { return (struct fpsimd_context *)(void *)uc->uc_mcontext.__reserved; }

static void handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  seen_sig = sig;
  seen_si = *si;
  seen_uc = *uc;
  switch (mode) {
  case M_SKIP_LOAD:      /* resume after the load, with its destination x1 = 0x1234 and v3 changed */
    uc->uc_mcontext.pc += 4;
    uc->uc_mcontext.regs[1] = 0x1234;
    fpsimd_of(uc)->vregs[3] = ((__uint128_t)0x3333333333333333ull << 64) | 0x4444444444444444ull;
    break;
  case M_SKIP_STORE:
    uc->uc_mcontext.pc += 4;
    break;
  case M_SET_X0:         /* the interrupted syscall "returns" 42 */
    uc->uc_mcontext.regs[0] = 42;
    break;
  case M_MASK:
    sigaddset(&uc->uc_sigmask, SIGUSR2);
    sigaddset(&uc->uc_sigmask, SIGKILL);
    sigaddset(&uc->uc_sigmask, SIGSTOP);
    break;
  case M_FORGE_EL1:      /* M[3:0] = 0b0101: EL1h */
    uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xfull) | 0x5;
    break;
  case M_BAD_FPSIMD:
    fpsimd_of(uc)->head.magic = 0x12345678;
    break;
  default:
    break;
  }
}

/* Checks the record list of seen_uc: fpsimd first (its vregs equal want_v if given), then an esr
 * record iff expect_esr, then the terminator. Returns the ESR (0 if none). */
static uint64_t check_records(const char *what, int expect_esr, const __uint128_t *want_v) {
  const unsigned char *r = (const unsigned char *)seen_uc.uc_mcontext.__reserved;
  CHECK(((uintptr_t)r & 15) == 0, "%s: __reserved not 16-byte aligned", what);
  const struct fpsimd_context *fp = (const void *)r;
  CHECK(fp->head.magic == FPSIMD_MAGIC, "%s: first record magic %#x, expected fpsimd %#x", what, fp->head.magic,
        FPSIMD_MAGIC);
  CHECK(fp->head.size == 528, "%s: fpsimd record size %u, expected 528", what, fp->head.size);
  if (want_v)
    for (int i = 0; i < 32; i++)
      CHECK(fp->vregs[i] == want_v[i], "%s: fpsimd record v%d = %016llx%016llx, expected %016llx%016llx", what, i,
            (unsigned long long)(fp->vregs[i] >> 64), (unsigned long long)fp->vregs[i],
            (unsigned long long)(want_v[i] >> 64), (unsigned long long)want_v[i]);
  const struct _aarch64_ctx *next = (const void *)(r + 528);
  uint64_t esr = 0;
  if (expect_esr) {
    const struct esr_context *e = (const void *)next;
    CHECK(e->head.magic == ESR_MAGIC, "%s: second record magic %#x, expected esr %#x", what, e->head.magic, ESR_MAGIC);
    CHECK(e->head.size == 16, "%s: esr record size %u, expected 16", what, e->head.size);
    esr = e->esr;
    next = (const void *)(r + 528 + 16);
  }
  CHECK(next->magic == 0 && next->size == 0, "%s: expected the terminator, found magic %#x size %u", what,
        next->magic, next->size);
  return esr;
}

static void set_handler(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction %d", sig);
}

/* A child that sends itself SIGUSR1 with the handler in mode m; returns its wait status. */
static int child_status(int m) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    signal(SIGSEGV, SIG_DFL);   /* the bad-frame SIGSEGV must not find our handler */
    mode = m;
    raise(SIGUSR1);
    _exit(0);   /* only correct for M_NONE; the parent reports the rest */
  }
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  return st;
}

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  set_handler(SIGSEGV);
  set_handler(SIGUSR1);
  for (int i = 0; i < 32; i++)
    g_vin[i] = ((__uint128_t)(0xa5a5a5a500000000ull | (uint64_t)i << 8) << 64) | (0x0f1e2d3c4b5a6978ull + i);

  /* An address that is certainly unmapped: a page we map and unmap again. */
  char *hole = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(hole != MAP_FAILED, "mmap");
  CHECK(munmap(hole, pg) == 0, "munmap");
  char *bad = hole + 0x128;

  /* 1. kill() before this process ever faulted: no esr record, fault_address 0, and a changed x0
   *    becomes the syscall's result. (Linux does not clear the thread's fault_address/fault_code
   *    after a fault, so a later kill() shows the stale values; only this first one is checked.) */
  mode = M_SET_X0;
  seen_sig = 0;
  long k = SYNCED(syscall(SYS_kill, getpid(), SIGUSR1));
  CHECK(seen_sig == SIGUSR1, "kill: handler saw %d", (int)seen_sig);
  CHECK(k == 42, "kill returned %ld after the handler set regs[0] = 42 (sigreturn returns the restored x0)", k);
  CHECK(seen_uc.uc_mcontext.regs[0] == 0, "kill: frame x0 %#llx, expected the syscall result 0",
        (unsigned long long)seen_uc.uc_mcontext.regs[0]);
  CHECK(seen_uc.uc_mcontext.regs[8] == SYS_kill, "kill: frame x8 %llu, expected %d",
        (unsigned long long)seen_uc.uc_mcontext.regs[8], SYS_kill);
  CHECK(*(uint32_t *)(uintptr_t)(seen_uc.uc_mcontext.pc - 4) == 0xd4000001, "kill: frame pc is not after an svc");
  CHECK(seen_uc.uc_mcontext.fault_address == 0, "kill: fault_address %#llx, expected 0",
        (unsigned long long)seen_uc.uc_mcontext.fault_address);
  check_records("kill", 0, NULL);

  /* 2. A faulting load: frame contents, then resume after it with a value we chose. */
  mode = M_SKIP_LOAD;
  seen_sig = 0;
  uint64_t r = fault_load(bad);
  CHECK(seen_sig == SIGSEGV, "load from unmapped memory: handler saw signal %d", (int)seen_sig);
  CHECK(r == 0x1234, "after pc += 4 and regs[1] = 0x1234 the load returned %#llx", (unsigned long long)r);
  CHECK(g_vout[3] == (((__uint128_t)0x3333333333333333ull << 64) | 0x4444444444444444ull),
        "v3 changed in the fpsimd record was not restored by sigreturn");
  for (int i = 0; i < 32; i++)
    if (i != 3)
      CHECK(g_vout[i] == g_vin[i], "v%d not preserved across the fault", i);
  CHECK(seen_uc.uc_mcontext.pc == (uintptr_t)fault_insn, "frame pc %#llx, expected the faulting insn %p",
        (unsigned long long)seen_uc.uc_mcontext.pc, (void *)fault_insn);
  CHECK(seen_uc.uc_mcontext.regs[0] == (uintptr_t)bad, "frame x0 %#llx, expected %p",
        (unsigned long long)seen_uc.uc_mcontext.regs[0], (void *)bad);
  CHECK(seen_uc.uc_mcontext.fault_address == (uintptr_t)bad, "fault_address %#llx, expected %p",
        (unsigned long long)seen_uc.uc_mcontext.fault_address, (void *)bad);
  CHECK(seen_si.si_addr == bad, "si_addr %p, expected %p", seen_si.si_addr, (void *)bad);
  CHECK(seen_si.si_code == SEGV_MAPERR, "si_code %d, expected SEGV_MAPERR", seen_si.si_code);
  CHECK(seen_uc.uc_flags == 0 && seen_uc.uc_link == NULL, "uc_flags %#lx uc_link %p", seen_uc.uc_flags,
        (void *)seen_uc.uc_link);
  CHECK(seen_uc.uc_stack.ss_flags == SS_DISABLE, "uc_stack.ss_flags %d, expected SS_DISABLE (no alt stack)",
        seen_uc.uc_stack.ss_flags);
  CHECK((seen_uc.uc_mcontext.pstate & 0xf) == 0, "frame pstate %#llx is not EL0t",
        (unsigned long long)seen_uc.uc_mcontext.pstate);
  uint64_t esr = check_records("load fault", 1, g_vin);
  CHECK((esr >> 26) == ESR_EC_DABT_LOW, "load fault: ESR %#llx, EC %#llx expected 0x24 (DABT_LOW)",
        (unsigned long long)esr, (unsigned long long)(esr >> 26));
  CHECK(!(esr & (1u << 6)), "load fault: ESR %#llx has WnR set", (unsigned long long)esr);
  CHECK((esr & 0x3c) == 0x4, "load fault: ESR %#llx DFSC %#llx is not a translation fault",
        (unsigned long long)esr, (unsigned long long)(esr & 0x3f));

  /* 3. A faulting store: WnR set, skipped with pc += 4. */
  mode = M_SKIP_STORE;
  seen_sig = 0;
  fault_store(bad + 8);
  CHECK(seen_sig == SIGSEGV, "store to unmapped memory: handler saw %d", (int)seen_sig);
  CHECK(seen_uc.uc_mcontext.pc == (uintptr_t)fault_store_insn, "store: frame pc %#llx",
        (unsigned long long)seen_uc.uc_mcontext.pc);
  CHECK(seen_uc.uc_mcontext.fault_address == (uintptr_t)(bad + 8), "store: fault_address %#llx",
        (unsigned long long)seen_uc.uc_mcontext.fault_address);
  esr = check_records("store fault", 1, NULL);
  CHECK((esr >> 26) == ESR_EC_DABT_LOW && (esr & (1u << 6)), "store fault: ESR %#llx, expected DABT_LOW with WnR",
        (unsigned long long)esr);

  /* 4. uc_sigmask is the mask sigreturn installs; SIGKILL/SIGSTOP are silently dropped. */
  mode = M_MASK;
  SYNCED(raise(SIGUSR1));
  sigset_t now;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0, "sigprocmask");
  CHECK(sigismember(&now, SIGUSR2) == 1, "SIGUSR2 added to uc_sigmask is not blocked after return");
  CHECK(sigismember(&now, SIGKILL) == 0 && sigismember(&now, SIGSTOP) == 0,
        "SIGKILL/SIGSTOP from uc_sigmask ended up blocked");
  CHECK(sigismember(&now, SIGUSR1) == 0, "SIGUSR1 still blocked after its handler returned");
  sigemptyset(&now);
  sigprocmask(SIG_SETMASK, &now, NULL);

  /* 5. Bad frames: privilege cannot be forged, records are validated. */
  int st = child_status(M_FORGE_EL1);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "forged EL1 pstate: child status %#x, expected killed by SIGSEGV",
        st);
  st = child_status(M_BAD_FPSIMD);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "corrupted fpsimd magic: child status %#x, expected killed by SIGSEGV", st);
  st = child_status(M_NONE);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unmodified frame: child status %#x, expected exit 0", st);
  return test_ok();
}
