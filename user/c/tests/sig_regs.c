/* sig_regs — issue "Signals, process groups and sessions", part 2: an asynchronous handler is
 * invisible to the interrupted code.
 * Covers: every general register x0..x30, sp, NZCV, v0..v31, FPSR and FPCR hold exactly the same
 * values after a SIGALRM handler ran as before, although the handler (an assembly wrapper around a
 * C function) overwrites all of them before it returns through the vDSO trampoline. Twice: once
 * interrupting a spin loop in user mode, once interrupting a blocking ppoll (the syscall returns
 * -EINTR in x0, everything else is preserved). Also what the handler itself sees on entry (Linux:
 * x3..x28 and all FP/SIMD state, FPSR and FPCR are the interrupted values; only x0-x2, x29, x30, sp
 * and pc are set up by the kernel), and that the frame's uc_mcontext holds the interrupted registers. */
#define TEST_NAME "sig_regs"
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

/* Register file image; the assembly below uses these offsets. */
struct regstate {
  uint64_t x[31];           /* 0 */
  uint64_t sp;              /* 248 */
  uint64_t nzcv;            /* 256 */
  uint64_t fpsr;            /* 264 */
  uint64_t fpcr;            /* 272 */
  uint64_t pad;             /* 280 */
  __uint128_t v[32];        /* 288 .. 800 */
};
_Static_assert(__builtin_offsetof(struct regstate, v) == 288, "layout");

struct result {
  volatile uint64_t flag;   /* x27 points here; the loop spins until it is non-zero */
  uint64_t pad;
  struct regstate out;      /* flag + 16: registers as found after the loop */
};

struct regstate g_in;             /* loaded into the registers before the loop */
struct result g_res;              /* written after the loop */
struct regstate g_hsnap;          /* what the handler saw on entry (every delivery) */
uint64_t g_save[24];              /* the C caller's callee-saved registers, sp, fpcr */

#define FLAGVAL 0x7a6b5c4d3e2f1001ull

/* run_spin(): load g_in into every register, spin on g_res.flag, store every register into
 * g_res.out. run_ppoll(): the same, but the loop is "ppoll(NULL, 0, NULL, NULL)" (blocks until a
 * signal) — g_in.x[0..3] and x[8] are the syscall's arguments and number. */
__asm__(
    ".macro SAVE_AND_LOAD\n"
    "  adrp x16, g_save\n  add x16, x16, :lo12:g_save\n"
    "  stp x19, x20, [x16, #0]\n  stp x21, x22, [x16, #16]\n  stp x23, x24, [x16, #32]\n"
    "  stp x25, x26, [x16, #48]\n  stp x27, x28, [x16, #64]\n  stp x29, x30, [x16, #80]\n"
    "  mov x17, sp\n  str x17, [x16, #96]\n  mrs x17, fpcr\n  str x17, [x16, #104]\n"
    "  stp d8, d9, [x16, #112]\n  stp d10, d11, [x16, #128]\n"
    "  stp d12, d13, [x16, #144]\n  stp d14, d15, [x16, #160]\n"
    "  adrp x0, g_in\n  add x0, x0, :lo12:g_in\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  ldr q\\n, [x0, #288 + \\n * 16]\n"
    "  .endr\n"
    "  ldr x1, [x0, #264]\n  msr fpsr, x1\n"
    "  ldr x1, [x0, #272]\n  msr fpcr, x1\n"
    "  ldr x1, [x0, #256]\n  msr nzcv, x1\n"
    "  .irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
    "  ldr x\\n, [x0, #\\n * 8]\n"
    "  .endr\n"
    "  ldr x0, [x0]\n"
    ".endm\n"
    ".macro STORE_AND_RESTORE\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
    "  str x\\n, [x27, #16 + \\n * 8]\n"
    "  .endr\n"
    "  mov x0, sp\n  str x0, [x27, #16 + 248]\n"
    "  mrs x0, nzcv\n  str x0, [x27, #16 + 256]\n"
    "  mrs x0, fpsr\n  str x0, [x27, #16 + 264]\n"
    "  mrs x0, fpcr\n  str x0, [x27, #16 + 272]\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  str q\\n, [x27, #16 + 288 + \\n * 16]\n"
    "  .endr\n"
    "  adrp x16, g_save\n  add x16, x16, :lo12:g_save\n"
    "  ldp x19, x20, [x16, #0]\n  ldp x21, x22, [x16, #16]\n  ldp x23, x24, [x16, #32]\n"
    "  ldp x25, x26, [x16, #48]\n  ldp x27, x28, [x16, #64]\n  ldp x29, x30, [x16, #80]\n"
    "  ldr x17, [x16, #96]\n  mov sp, x17\n  ldr x17, [x16, #104]\n  msr fpcr, x17\n"
    "  ldp d8, d9, [x16, #112]\n  ldp d10, d11, [x16, #128]\n"
    "  ldp d12, d13, [x16, #144]\n  ldp d14, d15, [x16, #160]\n"
    "  ret\n"
    ".endm\n"
    ".text\n"
    ".global run_spin\n.type run_spin, %function\nrun_spin:\n"
    "  SAVE_AND_LOAD\n"
    ".global spin_loop\nspin_loop:\n"
    "  ldr x26, [x27]\n"
    "  cbz x26, spin_loop\n"
    ".global spin_loop_end\nspin_loop_end:\n"
    "  STORE_AND_RESTORE\n"
    ".global run_ppoll\n.type run_ppoll, %function\nrun_ppoll:\n"
    "  SAVE_AND_LOAD\n"
    ".global ppoll_svc\nppoll_svc:\n"
    "  svc #0\n"
    "  ldr x26, [x27]\n"
    "  cbz x26, ppoll_svc\n"
    "  STORE_AND_RESTORE\n"

    /* The handler: snapshot the registers as found on entry, call the C part with x0-x2, then
     * overwrite every register (x17 keeps the return address, which is itself a scribble) and
     * return to the trampoline in x30. */
    ".global h_entry\n.type h_entry, %function\nh_entry:\n"
    "  stp x16, x17, [sp, #-16]!\n"
    "  adrp x16, g_hsnap\n  add x16, x16, :lo12:g_hsnap\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  str x\\n, [x16, #\\n * 8]\n"
    "  .endr\n"
    "  ldp x0, x1, [sp]\n  stp x0, x1, [x16, #128]\n"
    "  .irp n, 18,19,20,21,22,23,24,25,26,27,28,29,30\n"
    "  str x\\n, [x16, #\\n * 8]\n"
    "  .endr\n"
    "  add x0, sp, #16\n  str x0, [x16, #248]\n"
    "  mrs x0, nzcv\n  str x0, [x16, #256]\n"
    "  mrs x0, fpsr\n  str x0, [x16, #264]\n"
    "  mrs x0, fpcr\n  str x0, [x16, #272]\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  str q\\n, [x16, #288 + \\n * 16]\n"
    "  .endr\n"
    "  ldp x0, x1, [x16]\n  ldr x2, [x16, #16]\n"
    "  ldp x16, x17, [sp], #16\n"
    "  stp x29, x30, [sp, #-16]!\n  mov x29, sp\n"
    "  bl c_handler\n"
    "  ldp x29, x30, [sp], #16\n"
    "  mov x17, x30\n"
    "  mov x0, #0x00400000\n  msr fpcr, x0\n"       /* round towards +inf */
    "  msr fpsr, xzr\n"
    "  mov x0, #0x40000000\n  msr nzcv, x0\n"       /* Z only */
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  movi v\\n\\().16b, #(0xc0 + \\n)\n"
    "  .endr\n"
    "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
    "  movz x\\n, #0xdead, lsl #48\n  movk x\\n, #\\n\n"
    "  .endr\n"
    "  br x17\n");

void run_spin(void);
void run_ppoll(void);
void h_entry(int, siginfo_t *, void *);
extern char spin_loop[], spin_loop_end[], ppoll_svc[];

static int variant;                 /* 0: spin, 1: ppoll */
static struct regstate hsnap_good;  /* g_hsnap of the delivery that ended the loop */
static ucontext_t uc_good;          /* its ucontext */
static volatile int deliveries;

void c_handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  uint64_t pc = uc->uc_mcontext.pc;
  deliveries++;
  (void)si;
  if (sig != SIGALRM || g_res.flag)
    return;
  /* Only a delivery that interrupted the loop itself ends it, so the registers are fully loaded. */
  if (variant == 0 ? (pc < (uintptr_t)spin_loop || pc >= (uintptr_t)spin_loop_end)
                   : pc != (uintptr_t)ppoll_svc + 4)
    return;
  if (variant == 1 && (int64_t)uc->uc_mcontext.regs[0] != -EINTR)
    return;   /* ppoll was interrupted, but not in the syscall (pc + 4 only after svc) */
  hsnap_good = g_hsnap;
  uc_good = *uc;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  g_res.flag = FLAGVAL;
}

static void fill_inputs(int v) {
  for (int i = 0; i < 31; i++)
    g_in.x[i] = 0x0123456789abcdefull ^ ((uint64_t)(i + 1) * 0x1111111111111111ull) ^ ((uint64_t)i << 56);
  g_in.x[26] = 0;                          /* the loop's flag register starts at 0 */
  g_in.x[27] = (uintptr_t)&g_res.flag;     /* the loop's base register */
  if (v == 1) {
    g_in.x[0] = 0;                         /* fds */
    g_in.x[1] = 0;                         /* nfds */
    g_in.x[2] = 0;                         /* no timeout */
    g_in.x[3] = 0;                         /* no sigmask */
    g_in.x[8] = SYS_ppoll;
  }
  g_in.nzcv = 0xb0000000;                  /* N, C, V */
  g_in.fpsr = 0x0800009f;                  /* QC and all cumulative exception flags */
  g_in.fpcr = 0x07c00000;                  /* AHP, DN, FZ, round towards zero */
  for (int i = 0; i < 32; i++) {
    uint64_t lo = 0xf0e0d0c0b0a09080ull + (uint64_t)i * 0x0101010101010101ull;
    uint64_t hi = ~lo ^ ((uint64_t)i << 40);
    g_in.v[i] = ((__uint128_t)hi << 64) | lo;
  }
  memset(&g_res, 0, sizeof g_res);
  memset(&g_hsnap, 0, sizeof g_hsnap);
}

static void check_variant(int v) {
  const char *name = v ? "ppoll" : "spin";
  variant = v;
  fill_inputs(v);
  struct itimerval it = {{0, 3000}, {0, 3000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
  if (v)
    run_ppoll();
  else
    run_spin();
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);

  const struct regstate *o = &g_res.out;
  uint64_t sp_before = g_save[12];
  /* After the loop: everything as loaded, except x26 (the flag the handler set) and, for ppoll,
   * x0 = -EINTR. */
  for (int i = 0; i < 31; i++) {
    uint64_t want = g_in.x[i];
    if (i == 26)
      want = FLAGVAL;
    if (v == 1 && i == 0)
      want = (uint64_t)-EINTR;
    CHECK(o->x[i] == want, "%s: x%d after the handler is %#llx, expected %#llx", name, i,
          (unsigned long long)o->x[i], (unsigned long long)want);
  }
  CHECK(o->sp == sp_before, "%s: sp after %#llx, before %#llx", name, (unsigned long long)o->sp,
        (unsigned long long)sp_before);
  CHECK((o->nzcv & 0xf0000000) == g_in.nzcv, "%s: NZCV after %#llx, expected %#llx", name,
        (unsigned long long)o->nzcv, (unsigned long long)g_in.nzcv);
  CHECK(o->fpsr == g_in.fpsr, "%s: FPSR after %#llx, expected %#llx", name, (unsigned long long)o->fpsr,
        (unsigned long long)g_in.fpsr);
  CHECK(o->fpcr == g_in.fpcr, "%s: FPCR after %#llx, expected %#llx", name, (unsigned long long)o->fpcr,
        (unsigned long long)g_in.fpcr);
  for (int i = 0; i < 32; i++)
    CHECK(o->v[i] == g_in.v[i], "%s: v%d after is %016llx%016llx, expected %016llx%016llx", name, i,
          (unsigned long long)(o->v[i] >> 64), (unsigned long long)o->v[i],
          (unsigned long long)(g_in.v[i] >> 64), (unsigned long long)g_in.v[i]);

  /* The frame: uc_mcontext holds the interrupted registers. */
  for (int i = 0; i < 31; i++) {
    uint64_t want = g_in.x[i];
    if (v == 1 && i == 0)
      want = (uint64_t)-EINTR;
    CHECK(uc_good.uc_mcontext.regs[i] == want, "%s: uc_mcontext.regs[%d] %#llx, expected %#llx", name, i,
          (unsigned long long)uc_good.uc_mcontext.regs[i], (unsigned long long)want);
  }
  CHECK(uc_good.uc_mcontext.sp == sp_before, "%s: uc_mcontext.sp %#llx, expected %#llx", name,
        (unsigned long long)uc_good.uc_mcontext.sp, (unsigned long long)sp_before);
  CHECK((uc_good.uc_mcontext.pstate & 0xf000000f) == g_in.nzcv,
        "%s: uc_mcontext.pstate %#llx, expected NZCV %#llx and EL0", name,
        (unsigned long long)uc_good.uc_mcontext.pstate, (unsigned long long)g_in.nzcv);

  /* What the handler saw on entry: the kernel sets x0 = signo, x1 = &info, x2 = &uc, x29 = the
   * frame record, x30 = the return trampoline; every other register is the interrupted one. */
  const struct regstate *h = &hsnap_good;
  CHECK(h->x[0] == SIGALRM, "%s: handler x0 = %#llx, expected SIGALRM", name, (unsigned long long)h->x[0]);
  CHECK(h->x[2] == h->x[1] + 128, "%s: handler x2 %#llx is not x1 %#llx + 128 (ucontext after siginfo)", name,
        (unsigned long long)h->x[2], (unsigned long long)h->x[1]);
  CHECK(h->x[1] == h->sp, "%s: handler x1 (siginfo) %#llx is not the frame at sp %#llx", name,
        (unsigned long long)h->x[1], (unsigned long long)h->sp);
  CHECK(h->sp < sp_before && (h->sp & 15) == 0, "%s: handler sp %#llx not below %#llx or misaligned", name,
        (unsigned long long)h->sp, (unsigned long long)sp_before);
  CHECK(h->x[29] > h->sp && h->x[29] < sp_before, "%s: handler x29 %#llx is not a frame record inside the frame area",
        name, (unsigned long long)h->x[29]);
  CHECK(((uint64_t *)(uintptr_t)h->x[29])[0] == g_in.x[29] && ((uint64_t *)(uintptr_t)h->x[29])[1] == g_in.x[30],
        "%s: frame record {%#llx, %#llx} is not the interrupted {x29, x30}", name,
        (unsigned long long)((uint64_t *)(uintptr_t)h->x[29])[0],
        (unsigned long long)((uint64_t *)(uintptr_t)h->x[29])[1]);
  for (int i = 3; i < 29; i++)
    CHECK(h->x[i] == uc_good.uc_mcontext.regs[i], "%s: handler entry x%d %#llx, expected the interrupted %#llx", name,
          i, (unsigned long long)h->x[i], (unsigned long long)uc_good.uc_mcontext.regs[i]);
  for (int i = 0; i < 32; i++)
    CHECK(h->v[i] == g_in.v[i], "%s: handler entry v%d is not the interrupted value", name, i);
  CHECK(h->fpsr == g_in.fpsr, "%s: handler entry FPSR %#llx, expected the interrupted %#llx", name,
        (unsigned long long)h->fpsr, (unsigned long long)g_in.fpsr);
  CHECK(h->fpcr == g_in.fpcr, "%s: handler entry FPCR %#llx, expected the interrupted %#llx", name,
        (unsigned long long)h->fpcr, (unsigned long long)g_in.fpcr);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h_entry;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
  for (int round = 0; round < 3; round++) {
    check_variant(0);
    check_variant(1);
  }
  CHECK(deliveries >= 6, "only %d deliveries", (int)deliveries);
  return test_ok();
}
