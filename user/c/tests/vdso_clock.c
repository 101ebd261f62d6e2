/* vdso_clock: the vDSO's clocks, as glibc uses them.
 * - AT_SYSINFO_EHDR points at an ELF shared object (soname linux-vdso.so.1) that
 *   exports __kernel_clock_gettime, __kernel_gettimeofday, __kernel_clock_getres and
 *   __kernel_rt_sigreturn with version LINUX_2.6.39; /proc/self/maps shows [vdso] there
 *   and a [vvar] page;
 * - glibc's clock_gettime really goes through it (a child that takes the vDSO's
 *   permissions away dies of SIGSEGV in clock_gettime);
 * - CLOCK_MONOTONIC never goes backwards across glibc, the raw system call and the vDSO
 *   function called directly, interleaved; CLOCK_REALTIME and gettimeofday agree with
 *   the system call within a few ms; clock_getres agrees;
 * - clocks the vDSO does not handle (CPU time, bad ids) still work through the
 *   fallback system call;
 * - a forked child keeps a working vDSO; [vvar] cannot be made writable. */
#define TEST_NAME "vdso_clock"
#include "common.h"

#include <elf.h>
#include <signal.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef long (*clock_fn)(clockid_t, struct timespec *);

static const Elf64_Ehdr *ehdr;
static uintptr_t base; /* the load bias: the image is linked at 0 */

/* The dynamic table entry `tag`, as an address or value. */
static uint64_t dyn_value(const Elf64_Dyn *dyn, int64_t tag) {
  for (; dyn->d_tag != DT_NULL; dyn++)
    if (dyn->d_tag == tag) return dyn->d_un.d_val;
  return 0;
}

/* The vDSO's symbol `name` with version `version` (what glibc's dl_vdso_vsym does). */
static void *vdso_sym(const char *name, const char *version) {
  const Elf64_Phdr *ph = (const void *)((const char *)ehdr + ehdr->e_phoff);
  const Elf64_Dyn *dyn = 0;
  for (int i = 0; i < ehdr->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const void *)(base + ph[i].p_vaddr);
  CHECK(dyn != 0, "no PT_DYNAMIC");
  const uint32_t *hash = (const void *)(base + dyn_value(dyn, DT_HASH));
  const Elf64_Sym *sym = (const void *)(base + dyn_value(dyn, DT_SYMTAB));
  const char *str = (const void *)(base + dyn_value(dyn, DT_STRTAB));
  const uint16_t *versym = (const void *)(base + dyn_value(dyn, DT_VERSYM));
  const char *verdef = (const void *)(base + dyn_value(dyn, DT_VERDEF));
  CHECK(dyn_value(dyn, DT_HASH) && dyn_value(dyn, DT_VERSYM) && dyn_value(dyn, DT_VERDEF),
        "DT_HASH, DT_VERSYM or DT_VERDEF missing");
  for (uint32_t i = 0; i < hash[1]; i++) { /* nchain = number of symbols */
    if (strcmp(str + sym[i].st_name, name) != 0) continue;
    /* The version: find the Verdef with this symbol's index. */
    const char *d = verdef;
    for (;;) {
      const Elf64_Verdef *vd = (const void *)d;
      if (vd->vd_ndx == (versym[i] & 0x7fff)) {
        const Elf64_Verdaux *aux = (const void *)(d + vd->vd_aux);
        CHECK(strcmp(str + aux->vda_name, version) == 0, "%s has version %s", name,
              str + aux->vda_name);
        return (void *)(base + sym[i].st_value);
      }
      if (!vd->vd_next) break;
      d += vd->vd_next;
    }
    CHECK(0, "%s has no version", name);
  }
  return 0;
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t sys_clock(clockid_t c) {
  struct timespec t;
  CHECK(syscall(SYS_clock_gettime, c, &t) == 0, "syscall clock_gettime(%d)", c);
  return ns(t);
}

/* The [vdso] and [vvar] lines of /proc/self/maps: the vDSO's start, or 0. */
static uintptr_t maps_vdso(int *has_vvar) {
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f != 0, "open /proc/self/maps");
  char line[512];
  uintptr_t start = 0;
  *has_vvar = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "[vdso]")) {
      start = strtoul(line, 0, 16);
      CHECK(strstr(line, " r-xp ") != 0, "[vdso] is not r-xp: %s", line);
    }
    if (strstr(line, "[vvar]")) {
      *has_vvar = 1;
      CHECK(strstr(line, " r--p ") != 0, "[vvar] is not r--p: %s", line);
    }
  }
  fclose(f);
  return start;
}

int main(void) {
  ehdr = (const void *)getauxval(AT_SYSINFO_EHDR);
  CHECK(ehdr != 0, "no AT_SYSINFO_EHDR");
  CHECK(memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0, "no ELF magic at the vDSO");
  CHECK(ehdr->e_type == ET_DYN && ehdr->e_machine == EM_AARCH64, "not an AArch64 ET_DYN");
  base = (uintptr_t)ehdr;
  int has_vvar;
  CHECK(maps_vdso(&has_vvar) == base, "[vdso] in /proc/self/maps is not at AT_SYSINFO_EHDR");
  CHECK(has_vvar, "no [vvar] in /proc/self/maps");

  const char *v = "LINUX_2.6.39";
  clock_fn vdso_gettime = (clock_fn)vdso_sym("__kernel_clock_gettime", v);
  clock_fn vdso_getres = (clock_fn)vdso_sym("__kernel_clock_getres", v);
  void *vdso_gtod = vdso_sym("__kernel_gettimeofday", v);
  void *sigret = vdso_sym("__kernel_rt_sigreturn", v);
  CHECK(vdso_gettime && vdso_getres && vdso_gtod && sigret, "a vDSO symbol is missing");
  /* Linux's trampoline: mov x8, #139; svc #0, after a nop. */
  const uint32_t *insn = sigret;
  CHECK(insn[-1] == 0xd503201f && insn[0] == 0xd2801168 && insn[1] == 0xd4000001,
        "__kernel_rt_sigreturn is %08x %08x %08x", insn[-1], insn[0], insn[1]);

  /* Monotonic: glibc, the system call and the vDSO function, interleaved. */
  int64_t last = 0;
  for (int i = 0; i < 3000; i++) {
    struct timespec t;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0, "clock_gettime");
    int64_t a = ns(t);
    int64_t b = sys_clock(CLOCK_MONOTONIC);
    CHECK(vdso_gettime(CLOCK_MONOTONIC, &t) == 0, "__kernel_clock_gettime");
    CHECK(t.tv_nsec >= 0 && t.tv_nsec < 1000000000, "vDSO tv_nsec %ld not normalised",
          (long)t.tv_nsec);
    int64_t c = ns(t);
    CHECK(last <= a && a <= b && b <= c, "monotonic went back: %lld %lld %lld %lld",
          (long long)last, (long long)a, (long long)b, (long long)c);
    last = c;
  }
  /* The other clocks the vDSO answers agree with the system call's. */
  clockid_t same[] = {CLOCK_REALTIME, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                      CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
  for (unsigned i = 0; i < sizeof same / sizeof same[0]; i++) {
    struct timespec t;
    CHECK(clock_gettime(same[i], &t) == 0, "clock_gettime(%d)", same[i]);
    int64_t d = sys_clock(same[i]) - ns(t);
    CHECK(d > -10000000 && d < 10000000, "clock %d is %lld ns from the syscall's", same[i],
          (long long)d);
    struct timespec r1, r2;
    CHECK(clock_getres(same[i], &r1) == 0, "clock_getres(%d)", same[i]);
    CHECK(syscall(SYS_clock_getres, same[i], &r2) == 0, "syscall clock_getres");
    CHECK(ns(r1) == ns(r2), "clock_getres(%d): %lld, the syscall %lld", same[i],
          (long long)ns(r1), (long long)ns(r2));
  }
  struct timeval tv;
  CHECK(gettimeofday(&tv, 0) == 0, "gettimeofday");
  int64_t d = sys_clock(CLOCK_REALTIME) - ((int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000);
  CHECK(d > -10000000 && d < 10000000, "gettimeofday is %lld ns from the syscall", (long long)d);
  CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec %ld", (long)tv.tv_usec);

  /* What the vDSO leaves to the system call. */
  struct timespec t;
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0, "CLOCK_PROCESS_CPUTIME_ID");
  CHECK(vdso_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0, "vDSO CLOCK_THREAD_CPUTIME_ID");
  CHECK(vdso_gettime(1000, &t) == -EINVAL, "vDSO clock 1000: not -EINVAL");
  CHECK(vdso_getres(1000, &t) == -EINVAL, "vDSO getres clock 1000: not -EINVAL");
  errno = 0;
  CHECK(clock_gettime(1000, &t) == -1 && errno == EINVAL, "clock_gettime(1000)");

  /* A child keeps the vDSO; one that takes its permissions away shows that glibc's
   * clock_gettime calls into it. */
  for (int revoke = 0; revoke < 2; revoke++) {
    int64_t before = sys_clock(CLOCK_MONOTONIC);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
      int vv;
      if ((const void *)getauxval(AT_SYSINFO_EHDR) != ehdr || maps_vdso(&vv) != base) _exit(2);
      if (revoke && mprotect((void *)base, 4096, PROT_NONE) != 0) _exit(3);
      struct timespec c;
      if (clock_gettime(CLOCK_MONOTONIC, &c) != 0 || ns(c) < before) _exit(4);
      if (vdso_gettime(CLOCK_MONOTONIC, &c) != 0 || ns(c) < before) _exit(5);
      _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    if (revoke)
      CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
            "clock_gettime with the vDSO unreadable did not fault: status %#x", status);
    else
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
  }
  /* The data page can never become writable (Linux: no VM_MAYWRITE). */
  uintptr_t vvar = base - 4096;
  errno = 0;
  CHECK(mprotect((void *)vvar, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
        "mprotect([vvar], PROT_WRITE) is not EACCES");
  /* The parent's vDSO is untouched by the child's mprotect. */
  CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0 && ns(t) >= last, "after the children");
  return test_ok();
}
