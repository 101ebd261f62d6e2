/* lab5_sigframe — lab 5 (docs/labs/lab5.md): the arm64 rt_sigframe a signal handler gets, and
 * rt_sigreturn reading it back, checked word by word against Linux (arch/arm64/kernel/signal.c
 * setup_rt_frame, setup_sigframe, restore_sigframe).
 * Covers: (1) a signal sent by tgkill from an assembly routine that first loads known values into
 * x3..x30, NZCV, v0..v31, FPSR and FPCR: on entry to the handler x0 = the signal, x1 = sp = the
 * siginfo, x2 = x1 + 128 = the ucontext, x29 = the frame record right above the rt_sigframe
 * ({interrupted x29, x30}), x30 = the vDSO's rt_sigreturn trampoline, x3..x28 untouched; the frame
 * holds x0..x30 (x0 = tgkill's result), sp, pc (after the svc), pstate (EL0t, the NZCV set),
 * fault_address 0, an fpsimd record (the v registers, FPSR, FPCR), no esr record, the terminator;
 * the registers the handler changes in the frame (x0, x19, NZCV, v5, FPSR) are the ones the
 * routine sees after the svc, everything else exactly what it had. (2) A signal raised inside a
 * handler gets its own frame entirely below the first, which is intact afterwards. (3) A write to a
 * read-only page: pc = the store, fault_address = si_addr = the address, an esr record (data abort
 * from EL0, WnR) between the fpsimd record and the terminator; pc += 4 skips the store. (4)
 * rt_sigreturn refuses, with SIGSEGV, a pstate claiming EL1h or with IRQs masked, an sp that is not
 * 16-byte aligned, and an fpsimd record of the wrong size (children, via the wait status). */
#define TEST_NAME "lab5_sigframe"
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* A handler runs inside calls glibc declares "leaf"; re-read globals after them. */
#define SYNCED(call) ({ __typeof__(call) r_ = (call); __asm__ volatile("" ::: "memory"); r_; })

/* sizeof(struct rt_sigframe) on arm64: siginfo (128) + ucontext; the frame record sits on top. */
#define FRAME_SIZE (128 + sizeof(ucontext_t))
_Static_assert(128 + sizeof(ucontext_t) == 0x1250, "struct rt_sigframe is 4688 bytes");
#define PAT(n) (0xc0debeef00000000ull | (uint64_t)(0x5a00 + (n)) << 16 | (uint64_t)((n) * 0x111))
#define NZCV_IN 0xa0000000ull   /* N and C */
#define NZCV_SET 0x50000000ull  /* Z and V, written by the handler */
#define FPSR_IN 0x08000001ull   /* QC, IOC */
#define FPSR_SET 0x00000010ull  /* IXC, written by the handler */
#define FPCR_IN 0x00c00000ull   /* round towards zero */
#define X19_SET 0x1919191919191919ull
#define X0_SET 77

/* Registers as the assembly stores them; the offsets are used there. */
struct snap {
  uint64_t x[31];   /* 0 */
  uint64_t sp;      /* 248 */
  uint64_t nzcv;    /* 256 */
  uint64_t fpsr;    /* 264 */
  uint64_t fpcr;    /* 272 */
  uint64_t pad;     /* 280 */
  __uint128_t v[32];/* 288 */
};
_Static_assert(__builtin_offsetof(struct snap, v) == 288, "layout");

__uint128_t g_vpat[32];
uint64_t g_nzcv_in = NZCV_IN, g_fpsr_in = FPSR_IN, g_fpcr_in = FPCR_IN, g_sp_before;
struct snap g_after;   /* the routine's registers after the svc */
uint64_t g_entry[32];  /* the handler's x0..x30 and sp on entry (lab5_entry) */

/* lab5_svc(after, tgid, tid, sig): loads the patterns, tgkill(tgid, tid, sig) with the svc at
 * lab5_svc_insn, then stores every register into *after. lab5_entry: the handler's first
 * instructions, which record x0..x30 and sp, then jump to the C handler. fault_store(addr): a
 * store at fault_store_insn. bad_sp_sigreturn(): rt_sigreturn with sp 8 bytes off alignment. */
__asm__(".text\n"
        ".global lab5_svc\n.type lab5_svc, %function\nlab5_svc:\n"
        "  sub sp, sp, #176\n"
        "  str x0, [sp]\n"
        "  stp x19, x20, [sp, #16]\n  stp x21, x22, [sp, #32]\n  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n  stp x27, x28, [sp, #80]\n  stp x29, x30, [sp, #96]\n"
        "  stp d8, d9, [sp, #112]\n  stp d10, d11, [sp, #128]\n"
        "  stp d12, d13, [sp, #144]\n  stp d14, d15, [sp, #160]\n"
        "  mov x0, x1\n  mov x1, x2\n  mov x2, x3\n"
        "  adrp x9, g_vpat\n  add x9, x9, :lo12:g_vpat\n"
        "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  ldr q\\n, [x9, #\\n * 16]\n"
        "  .endr\n"
        "  adrp x9, g_fpcr_in\n  ldr x10, [x9, :lo12:g_fpcr_in]\n  msr fpcr, x10\n"
        "  adrp x9, g_fpsr_in\n  ldr x10, [x9, :lo12:g_fpsr_in]\n  msr fpsr, x10\n"
        "  adrp x9, g_nzcv_in\n  ldr x10, [x9, :lo12:g_nzcv_in]\n  msr nzcv, x10\n"
        "  mov x9, sp\n  adrp x10, g_sp_before\n  str x9, [x10, :lo12:g_sp_before]\n"
        "  .irp n, 3,4,5,6,7,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
        "  movz x\\n, #(\\n * 0x111)\n  movk x\\n, #(0x5a00 + \\n), lsl #16\n"
        "  movk x\\n, #0xbeef, lsl #32\n  movk x\\n, #0xc0de, lsl #48\n"
        "  .endr\n"
        "  mov x8, #131\n" /* tgkill */
        ".global lab5_svc_insn\nlab5_svc_insn:\n"
        "  svc #0\n"
        ".global lab5_svc_ret\nlab5_svc_ret:\n"
        "  sub sp, sp, #32\n  stp x0, x1, [sp]\n  mrs x0, nzcv\n  str x0, [sp, #16]\n"
        "  ldr x0, [sp, #32]\n"
        "  .irp n, 2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
        "  str x\\n, [x0, #\\n * 8]\n"
        "  .endr\n"
        "  ldp x1, x2, [sp]\n  stp x1, x2, [x0]\n"
        "  add x1, sp, #32\n  str x1, [x0, #248]\n"
        "  ldr x1, [sp, #16]\n  str x1, [x0, #256]\n"
        "  mrs x1, fpsr\n  str x1, [x0, #264]\n  mrs x1, fpcr\n  str x1, [x0, #272]\n"
        "  add x2, x0, #288\n"
        "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  str q\\n, [x2, #\\n * 16]\n"
        "  .endr\n"
        "  msr fpcr, xzr\n  msr fpsr, xzr\n"
        "  add sp, sp, #32\n"
        "  ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n  ldp x27, x28, [sp, #80]\n  ldp x29, x30, [sp, #96]\n"
        "  ldp d8, d9, [sp, #112]\n  ldp d10, d11, [sp, #128]\n"
        "  ldp d12, d13, [sp, #144]\n  ldp d14, d15, [sp, #160]\n"
        "  add sp, sp, #176\n"
        "  ret\n"
        ".global lab5_entry\n.type lab5_entry, %function\nlab5_entry:\n"
        "  stp x16, x17, [sp, #-16]!\n"
        "  adrp x16, g_entry\n  add x16, x16, :lo12:g_entry\n"
        "  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,18,19,20,21,22,23,24,25,26,27,28,29,30\n"
        "  str x\\n, [x16, #\\n * 8]\n"
        "  .endr\n"
        "  ldr x17, [sp]\n  str x17, [x16, #128]\n  ldr x17, [sp, #8]\n  str x17, [x16, #136]\n"
        "  add x17, sp, #16\n  str x17, [x16, #248]\n"
        "  ldp x16, x17, [sp], #16\n"
        "  b lab5_handler\n"
        ".global fault_store\n.type fault_store, %function\nfault_store:\n"
        "  mov x1, #7\n"
        ".global fault_store_insn\nfault_store_insn:\n"
        "  str x1, [x0]\n"
        "  ret\n"
        ".global bad_sp_sigreturn\n.type bad_sp_sigreturn, %function\nbad_sp_sigreturn:\n"
        "  mov x9, sp\n  sub x9, x9, #8\n  mov sp, x9\n  mov x8, #139\n  svc #0\n  brk #0\n");
void lab5_svc(struct snap *after, long tgid, long tid, long sig);
void lab5_entry(int, siginfo_t *, void *);
void fault_store(void *addr);
void bad_sp_sigreturn(void);
extern char lab5_svc_insn[], lab5_svc_ret[], fault_store_insn[];

static enum { M_FRAME, M_NESTED, M_FAULT, M_EL1, M_IRQ_MASKED, M_FPSIMD_SIZE, M_NONE } mode;
static volatile int seen_sig;
static siginfo_t seen_si;
static ucontext_t seen_uc;
static uint64_t seen_entry[32], seen_record[2];
/* The nested case: the outer and inner frames' addresses, the outer frame before and after. */
static uintptr_t outer_frame, inner_frame, inner_sp;
static unsigned char outer_before[0x1250], outer_after[0x1250];

static struct fpsimd_context *fpsimd_of(ucontext_t *uc) {
  return (struct fpsimd_context *)(void *)uc->uc_mcontext.__reserved;
}

void lab5_handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  seen_sig = sig;
  seen_si = *si;
  seen_uc = *uc;
  memcpy(seen_entry, g_entry, sizeof seen_entry);
  if (mode == M_FRAME)  /* the frame record is gone once the handler returned */
    memcpy(seen_record, (const void *)(uintptr_t)g_entry[29], sizeof seen_record);
  switch (mode) {
  case M_FRAME:
    uc->uc_mcontext.regs[0] = X0_SET;
    uc->uc_mcontext.regs[19] = X19_SET;
    uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xf0000000ull) | NZCV_SET;
    fpsimd_of(uc)->vregs[5] = ~g_vpat[5];
    fpsimd_of(uc)->fpsr = FPSR_SET;
    break;
  case M_NESTED:
    if (sig == SIGUSR1) {
      outer_frame = (uintptr_t)si;
      memcpy(outer_before, si, sizeof outer_before);
      mode = M_NESTED;
      SYNCED(raise(SIGUSR2));
      memcpy(outer_after, si, sizeof outer_after);
    } else {
      inner_frame = (uintptr_t)si;
      inner_sp = uc->uc_mcontext.sp;
    }
    break;
  case M_FAULT:
    uc->uc_mcontext.pc += 4;
    break;
  case M_EL1:
    uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xfull) | 0x5;
    break;
  case M_IRQ_MASKED:
    uc->uc_mcontext.pstate |= 0x80;
    break;
  case M_FPSIMD_SIZE:
    fpsimd_of(uc)->head.size = 512;
    break;
  default:
    break;
  }
}

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction %d", sig);
}

static const char *u128(__uint128_t v, char *buf) {
  snprintf(buf, 40, "%016llx%016llx", (unsigned long long)(v >> 64), (unsigned long long)v);
  return buf;
}

/* Walks uc's records: fpsimd first (size 528), an esr record iff want_esr, then the terminator;
 * returns the ESR (0 if none). */
static uint64_t check_records(const char *what, const ucontext_t *uc, int want_esr) {
  const unsigned char *r = (const unsigned char *)uc->uc_mcontext.__reserved;
  const struct _aarch64_ctx *h = (const void *)r;
  CHECK(h->magic == FPSIMD_MAGIC && h->size == sizeof(struct fpsimd_context),
        "%s: the first record of __reserved has magic %#x size %u, not the fpsimd_context (%#x, %zu)", what,
        h->magic, h->size, FPSIMD_MAGIC, sizeof(struct fpsimd_context));
  h = (const void *)(r + h->size);
  uint64_t esr = 0;
  if (want_esr) {
    CHECK(h->magic == ESR_MAGIC && h->size == sizeof(struct esr_context),
          "%s: the record after fpsimd has magic %#x size %u, not the esr_context (%#x, %zu)", what, h->magic,
          h->size, ESR_MAGIC, sizeof(struct esr_context));
    esr = ((const struct esr_context *)h)->esr;
    h = (const void *)((const unsigned char *)h + h->size);
  }
  CHECK(h->magic == 0 && h->size == 0, "%s: expected the terminator (0, 0) at __reserved + %td, found magic %#x size %u",
        what, (const unsigned char *)h - r, h->magic, h->size);
  return esr;
}

/* 1. The frame of a signal sent from a known register state. */
static void frame_and_registers(void) {
  char a[40], b[40];
  mode = M_FRAME;
  seen_sig = 0;
  long tid = syscall(SYS_gettid);
  SYNCED((lab5_svc(&g_after, getpid(), tid, SIGUSR1), 0));
  CHECK(seen_sig == SIGUSR1, "the handler saw signal %d, not SIGUSR1", seen_sig);

  /* Registers on entry to the handler. */
  uint64_t sp = seen_entry[31], x1 = seen_entry[1];
  CHECK(seen_entry[0] == SIGUSR1, "on entry x0 = %llu, not the signal %d", (unsigned long long)seen_entry[0],
        SIGUSR1);
  CHECK(sp == x1, "on entry sp = %#llx but x1 (&siginfo) = %#llx: the frame starts with the siginfo at sp",
        (unsigned long long)sp, (unsigned long long)x1);
  CHECK(sp % 16 == 0, "on entry sp = %#llx is not 16-byte aligned", (unsigned long long)sp);
  CHECK(seen_entry[2] == x1 + 128, "on entry x2 (&ucontext) = %#llx, not x1 + 128 = %#llx",
        (unsigned long long)seen_entry[2], (unsigned long long)(x1 + 128));
  CHECK(seen_entry[29] == sp + FRAME_SIZE,
        "on entry x29 = %#llx, not the frame record right above the %#zx-byte rt_sigframe (sp + %#zx = %#llx)",
        (unsigned long long)seen_entry[29], FRAME_SIZE, FRAME_SIZE, (unsigned long long)(sp + FRAME_SIZE));
  CHECK(seen_entry[29] + 16 <= g_sp_before, "the frame record at %#llx overlaps the interrupted stack (sp %#llx)",
        (unsigned long long)seen_entry[29], (unsigned long long)g_sp_before);
  CHECK(g_sp_before - (seen_entry[29] + 16) < 16, "the frame record at %#llx is more than 15 bytes below sp %#llx",
        (unsigned long long)seen_entry[29], (unsigned long long)g_sp_before);
  const uint64_t *record = seen_record;
  CHECK(record[0] == PAT(29) && record[1] == PAT(30),
        "the frame record holds {%#llx, %#llx}, not the interrupted {x29, x30} = {%#llx, %#llx}",
        (unsigned long long)record[0], (unsigned long long)record[1], PAT(29), PAT(30));
  const uint32_t *tramp = (const uint32_t *)(uintptr_t)seen_entry[30];
  CHECK(tramp[0] == 0xd2801168 && tramp[1] == 0xd4000001,
        "on entry x30 = %#llx, which is not the vDSO's \"mov x8, #139; svc #0\" (found %08x %08x)",
        (unsigned long long)seen_entry[30], tramp[0], tramp[1]);
  for (int i = 3; i <= 28; i++)
    CHECK(seen_entry[i] == (i == 8 ? 131 : PAT(i)), "on entry x%d = %#llx, not the interrupted %#llx", i,
          (unsigned long long)seen_entry[i], i == 8 ? 131ull : PAT(i));

  /* The saved registers. */
  const mcontext_t *mc = &seen_uc.uc_mcontext;
  CHECK(mc->regs[0] == 0, "frame x0 = %#llx, not tgkill's result 0", (unsigned long long)mc->regs[0]);
  CHECK(mc->regs[1] == (uint64_t)tid && mc->regs[2] == SIGUSR1, "frame x1, x2 = %#llx, %#llx, not tgkill's %ld, %d",
        (unsigned long long)mc->regs[1], (unsigned long long)mc->regs[2], tid, SIGUSR1);
  for (int i = 3; i <= 30; i++)
    CHECK(mc->regs[i] == (i == 8 ? 131 : PAT(i)), "frame x%d = %#llx, not the interrupted %#llx", i,
          (unsigned long long)mc->regs[i], i == 8 ? 131ull : PAT(i));
  CHECK(mc->sp == g_sp_before, "frame sp = %#llx, not the interrupted %#llx", (unsigned long long)mc->sp,
        (unsigned long long)g_sp_before);
  CHECK(mc->pc == (uintptr_t)lab5_svc_ret, "frame pc = %#llx, not the instruction after the svc %p",
        (unsigned long long)mc->pc, (void *)lab5_svc_ret);
  CHECK((mc->pstate & 0xf00003ff) == NZCV_IN,
        "frame pstate = %#llx: want NZCV = %#llx, EL0t (M = 0) and D, A, I, F clear", (unsigned long long)mc->pstate,
        NZCV_IN);
  CHECK(mc->fault_address == 0, "frame fault_address = %#llx, not 0 for a signal that is no fault",
        (unsigned long long)mc->fault_address);
  CHECK(seen_si.si_signo == SIGUSR1 && seen_si.si_code == SI_TKILL && seen_si.si_pid == getpid(),
        "siginfo: signo %d code %d pid %d, not SIGUSR1, SI_TKILL, %d", seen_si.si_signo, seen_si.si_code,
        seen_si.si_pid, getpid());
  check_records("tgkill", &seen_uc, 0);
  const struct fpsimd_context *fp = fpsimd_of(&seen_uc);
  for (int i = 0; i < 32; i++)
    CHECK(fp->vregs[i] == g_vpat[i], "fpsimd record v%d = %s, not the interrupted %s", i, u128(fp->vregs[i], a),
          u128(g_vpat[i], b));
  CHECK(fp->fpsr == FPSR_IN && fp->fpcr == FPCR_IN, "fpsimd record fpsr %#x fpcr %#x, not %#llx %#llx", fp->fpsr,
        fp->fpcr, FPSR_IN, FPCR_IN);

  /* What rt_sigreturn gave back. */
  CHECK(g_after.x[0] == X0_SET, "after the handler x0 = %#llx, not %d written to the frame's regs[0]",
        (unsigned long long)g_after.x[0], X0_SET);
  CHECK(g_after.x[19] == X19_SET, "after the handler x19 = %#llx, not %#llx written to the frame's regs[19]",
        (unsigned long long)g_after.x[19], X19_SET);
  CHECK(g_after.x[1] == (uint64_t)tid && g_after.x[2] == SIGUSR1, "after the handler x1, x2 = %#llx, %#llx",
        (unsigned long long)g_after.x[1], (unsigned long long)g_after.x[2]);
  for (int i = 3; i <= 30; i++)
    if (i != 19)
      CHECK(g_after.x[i] == (i == 8 ? 131 : PAT(i)), "after the handler x%d = %#llx, not %#llx", i,
            (unsigned long long)g_after.x[i], i == 8 ? 131ull : PAT(i));
  CHECK(g_after.sp == g_sp_before, "after the handler sp = %#llx, not %#llx", (unsigned long long)g_after.sp,
        (unsigned long long)g_sp_before);
  CHECK(g_after.nzcv == NZCV_SET, "after the handler NZCV = %#llx, not %#llx written to the frame's pstate",
        (unsigned long long)g_after.nzcv, NZCV_SET);
  CHECK(g_after.fpsr == FPSR_SET && g_after.fpcr == FPCR_IN,
        "after the handler fpsr %#llx fpcr %#llx, not %#llx (the record's) and %#llx", (unsigned long long)g_after.fpsr,
        (unsigned long long)g_after.fpcr, FPSR_SET, FPCR_IN);
  for (int i = 0; i < 32; i++) {
    __uint128_t want = i == 5 ? ~g_vpat[5] : g_vpat[i];
    CHECK(g_after.v[i] == want, "after the handler v%d = %s, not %s%s", i, u128(g_after.v[i], a), u128(want, b),
          i == 5 ? " (written to the fpsimd record)" : "");
  }
}

/* 2. A signal inside a handler: its frame is below the first, which stays intact. */
static void nested(void) {
  set_handler(SIGUSR2, lab5_handler);
  mode = M_NESTED;
  outer_frame = inner_frame = 0;
  SYNCED(raise(SIGUSR1));
  CHECK(outer_frame && inner_frame, "nested: the handlers did not both run (outer %#lx inner %#lx)",
        (unsigned long)outer_frame, (unsigned long)inner_frame);
  CHECK(inner_frame + FRAME_SIZE + 16 <= outer_frame,
        "nested: the inner frame at %#lx (+%#zx + the frame record) overlaps the outer frame at %#lx",
        (unsigned long)inner_frame, FRAME_SIZE, (unsigned long)outer_frame);
  CHECK(inner_sp < outer_frame && inner_sp > inner_frame,
        "nested: the inner frame's sp %#lx is not the outer handler's, between the frames (%#lx, %#lx)",
        (unsigned long)inner_sp, (unsigned long)inner_frame, (unsigned long)outer_frame);
  for (size_t i = 0; i < sizeof outer_before; i++)
    CHECK(outer_before[i] == outer_after[i], "nested: byte %#zx of the outer frame changed from %#x to %#x", i,
          outer_before[i], outer_after[i]);
}

/* 3. A fault's frame. */
static void fault(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(ro != MAP_FAILED, "mmap");
  CHECK(((volatile char *)ro)[0x48] == 0, "a fresh page reads 0"); /* mapped: the store's is a permission fault */
  set_handler(SIGSEGV, lab5_handler);
  mode = M_FAULT;
  seen_sig = 0;
  SYNCED((fault_store(ro + 0x48), 0));
  CHECK(seen_sig == SIGSEGV, "a store to a read-only page: the handler saw signal %d", seen_sig);
  const mcontext_t *mc = &seen_uc.uc_mcontext;
  CHECK(mc->pc == (uintptr_t)fault_store_insn, "fault: frame pc %#llx, not the store %p", (unsigned long long)mc->pc,
        (void *)fault_store_insn);
  CHECK(mc->regs[0] == (uintptr_t)(ro + 0x48) && mc->regs[1] == 7, "fault: frame x0, x1 = %#llx, %#llx",
        (unsigned long long)mc->regs[0], (unsigned long long)mc->regs[1]);
  CHECK(mc->fault_address == (uintptr_t)(ro + 0x48), "fault: frame fault_address %#llx, not %p",
        (unsigned long long)mc->fault_address, (void *)(ro + 0x48));
  CHECK(seen_si.si_addr == ro + 0x48 && seen_si.si_code == SEGV_ACCERR, "fault: si_addr %p si_code %d, not %p, %d",
        seen_si.si_addr, seen_si.si_code, (void *)(ro + 0x48), SEGV_ACCERR);
  uint64_t esr = check_records("fault", &seen_uc, 1);
  CHECK(esr >> 26 == 0x24 && (esr & (1u << 6)) && (esr & 0x3c) == 0xc,
        "fault: esr record %#llx, not a data abort from EL0 (EC 0x24), WnR set, a permission fault",
        (unsigned long long)esr);
  CHECK(munmap(ro, pg) == 0, "munmap");
}

/* 4. Frames rt_sigreturn must refuse: a child per case; its wait status. */
static int child_status(int m) {
  pid_t p = fork();
  CHECK(p >= 0, "fork");
  if (p == 0) {
    signal(SIGSEGV, SIG_DFL);
    mode = m;
    if (m == M_NONE + 1)
      bad_sp_sigreturn();
    else
      raise(SIGUSR1);
    _exit(0);
  }
  int st;
  CHECK(waitpid(p, &st, 0) == p, "waitpid");
  return st;
}

int main(void) {
  for (int i = 0; i < 32; i++)
    g_vpat[i] = ((__uint128_t)(0xa5a5a5a500000000ull | (uint64_t)i << 8) << 64) | (0x0f1e2d3c4b5a6978ull + i);
  set_handler(SIGUSR1, lab5_entry);
  /* Before any fault: Linux keeps a thread's last fault's ESR and reports it in later frames. */
  frame_and_registers();
  set_handler(SIGUSR1, lab5_handler);
  nested();
  fault();
  static const struct {
    int mode;
    const char *what;
  } bad[] = {{M_EL1, "a pstate claiming EL1h"},
             {M_IRQ_MASKED, "a pstate with IRQs masked"},
             {M_FPSIMD_SIZE, "an fpsimd record of size 512"},
             {M_NONE + 1, "rt_sigreturn with sp 8 bytes off alignment"}};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int st = child_status(bad[i].mode);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "%s: the child's status is %#x, not killed by SIGSEGV",
          bad[i].what, st);
  }
  int st = child_status(M_NONE);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an unchanged frame: the child's status is %#x, not exit 0", st);
  return test_ok();
}
