/* core_dump — ELF core dumps and the wait status's core bit (Linux fs/coredump.c, binfmt_elf.c
 * `elf_core_dump`), with core_pattern "core": a file named core in the current directory.
 * Covers: with the default RLIMIT_CORE of 0 a SIGSEGV writes nothing and sets no 0x80 bit; with
 * RLIMIT_CORE unlimited, SIGSEGV (a NULL write), SIGABRT (abort) and SIGQUIT (kill from the parent)
 * give status sig|0x80 and a file core: ELF64 ET_CORE EM_AARCH64, a PT_NOTE with NT_PRSTATUS
 * (pr_cursig = the signal, pr_pid = the child, pc inside the faulting function), NT_PRPSINFO (fname
 * = the comm) and NT_FPREGSET (528 bytes, v0 as the child set it), a PT_LOAD holding a marker the
 * child wrote into a global array and one holding a marker on its stack; a limit below one page
 * writes nothing; SIGTERM (terminate, not core) writes nothing; a directory named core in the way
 * means no dump and no bit; a symlink named core is replaced, never followed. */
#define _GNU_SOURCE
#define TEST_NAME "core_dump"
#include "common.h"
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/procfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR "/tmp/coretest"

/* A global the child overwrites before it dies: its page is private and written, so the dump
 * holds it (Linux dumps written private memory in full). */
char coremarker[64] = "unchanged";

/* What the child reports to the parent through a shared page. */
struct report {
  uintptr_t stack_marker; /* address of a marker on the child's stack */
};
static struct report *rep;
static int *volatile null_ptr; /* NULL, hidden from the compiler */

/* The faulting function: the dump's pc must lie inside it. */
__attribute__((noinline)) void fault_here(void) {
  *null_ptr = 42;
}

/* Sets v0 to a known pattern (NT_FPREGSET must show it), then calls fault_here with the stack
 * marker still alive. */
__attribute__((noinline)) static void child_body(int kind, int ready_fd) {
  volatile char stack_marker[32];
  memcpy((char *)stack_marker, "STACKMARKER-0123456789", 23);
  rep->stack_marker = (uintptr_t)stack_marker;
  snprintf(coremarker, sizeof coremarker, "COREMARKER-kind-%d", kind);
  __asm__ volatile("movz x9, #0xbeef\n fmov d0, x9\n" ::: "x9", "v0");
  if (kind == SIGSEGV) fault_here();
  if (kind == SIGABRT) abort();
  /* SIGQUIT, SIGTERM: the parent sends it once we are ready. */
  char c = 1;
  if (write(ready_fd, &c, 1) != 1) _exit(97);
  for (;;) pause();
}

/* Runs a child that dies of `kind`; returns its wait status and pid. */
static int run_child(int kind, pid_t *pidp) {
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    close(p[0]);
    child_body(kind, p[1]);
    _exit(98);
  }
  close(p[1]);
  if (kind == SIGQUIT || kind == SIGTERM) {
    char c;
    CHECK(read(p[0], &c, 1) == 1, "child ready");
    CHECK(kill(pid, kind) == 0, "kill");
  }
  close(p[0]);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  if (pidp) *pidp = pid;
  return st;
}

static int exists(const char *path) {
  struct stat sb;
  return lstat(path, &sb) == 0;
}

/* The whole file, or NULL. */
static unsigned char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat sb;
  CHECK(fstat(fd, &sb) == 0, "fstat core");
  unsigned char *buf = malloc(sb.st_size + 1);
  CHECK(buf, "malloc %ld", (long)sb.st_size);
  size_t got = 0;
  while (got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, sb.st_size - got);
    CHECK(n > 0, "read core at %zu", got);
    got += n;
  }
  close(fd);
  *len = got;
  return buf;
}

/* The bytes at user address `addr` in the dump, if a PT_LOAD holds them. */
static const unsigned char *find_mem(const unsigned char *f, size_t len, uintptr_t addr, size_t n) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph->p_type != PT_LOAD || addr < ph->p_vaddr || addr + n > ph->p_vaddr + ph->p_filesz) continue;
    uint64_t off = ph->p_offset + (addr - ph->p_vaddr);
    if (off + n <= len) return f + off;
  }
  return NULL;
}

/* Checks the file core against what the child did. */
static void check_core(int sig, pid_t pid) {
  size_t len;
  unsigned char *f = slurp("core", &len);
  CHECK(f, "signal %d: no file core", sig);
  CHECK(len >= sizeof(Elf64_Ehdr) && memcmp(f, ELFMAG, SELFMAG) == 0, "signal %d: no ELF magic", sig);
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  CHECK(eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_ident[EI_DATA] == ELFDATA2LSB, "ELF class/data");
  CHECK(eh->e_type == ET_CORE, "e_type %d, want ET_CORE", eh->e_type);
  CHECK(eh->e_machine == EM_AARCH64, "e_machine %d, want 183", eh->e_machine);
  CHECK(eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) <= len,
        "program headers");
  int prstatus = 0, prpsinfo = 0, fpregset = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph->p_type != PT_NOTE) continue;
    CHECK(ph->p_offset + ph->p_filesz <= len, "PT_NOTE past the end");
    size_t at = ph->p_offset, end = ph->p_offset + ph->p_filesz;
    while (at + sizeof(Elf64_Nhdr) <= end) {
      const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(f + at);
      const char *name = (const char *)(nh + 1);
      const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
      at = (desc - f) + ((nh->n_descsz + 3) & ~3u);
      CHECK(at <= end, "note past its segment");
      if (nh->n_namesz != 5 || memcmp(name, "CORE", 5) != 0) continue;
      if (nh->n_type == NT_PRSTATUS && !prstatus++) {
        struct elf_prstatus ps;
        CHECK(nh->n_descsz == sizeof ps, "NT_PRSTATUS size %u, want %zu", nh->n_descsz, sizeof ps);
        memcpy(&ps, desc, sizeof ps);
        CHECK(ps.pr_cursig == sig && ps.pr_info.si_signo == sig, "pr_cursig %d, want %d", ps.pr_cursig, sig);
        CHECK(ps.pr_pid == pid && ps.pr_ppid == getpid(), "pr_pid %d pr_ppid %d", ps.pr_pid, ps.pr_ppid);
        uint64_t pc = ps.pr_reg[32], sp = ps.pr_reg[31];
        if (sig == SIGSEGV) {
          uintptr_t fn = (uintptr_t)fault_here;
          CHECK(pc >= fn && pc < fn + 64, "pc %#lx not in fault_here at %#lx", (unsigned long)pc,
                (unsigned long)fn);
        }
        CHECK(sp != 0 && sp <= rep->stack_marker, "sp %#lx above the stack marker", (unsigned long)sp);
      } else if (nh->n_type == NT_PRPSINFO && !prpsinfo++) {
        struct elf_prpsinfo pi;
        CHECK(nh->n_descsz == sizeof pi, "NT_PRPSINFO size %u, want %zu", nh->n_descsz, sizeof pi);
        memcpy(&pi, desc, sizeof pi);
        char comm[16] = "";
        CHECK(prctl(PR_GET_NAME, comm) == 0, "PR_GET_NAME");
        CHECK(pi.pr_pid == pid && strncmp(pi.pr_fname, comm, 16) == 0, "prpsinfo pid %d fname %.16s, want %s",
              pi.pr_pid, pi.pr_fname, comm);
      } else if (nh->n_type == NT_FPREGSET && !fpregset++) {
        CHECK(nh->n_descsz == 528, "NT_FPREGSET size %u, want 528", nh->n_descsz);
        uint64_t v0;
        memcpy(&v0, desc, 8);
        if (sig == SIGSEGV) CHECK(v0 == 0xbeef, "NT_FPREGSET v0 %#lx, want 0xbeef", (unsigned long)v0);
      }
    }
  }
  CHECK(prstatus == 1 && prpsinfo == 1 && fpregset == 1, "notes: %d NT_PRSTATUS, %d NT_PRPSINFO, %d NT_FPREGSET",
        prstatus, prpsinfo, fpregset);
  char want[64];
  snprintf(want, sizeof want, "COREMARKER-kind-%d", sig);
  const unsigned char *m = find_mem(f, len, (uintptr_t)coremarker, strlen(want) + 1);
  CHECK(m && memcmp(m, want, strlen(want) + 1) == 0, "signal %d: no PT_LOAD with the global marker", sig);
  m = find_mem(f, len, rep->stack_marker, 23);
  CHECK(m && memcmp(m, "STACKMARKER-0123456789", 23) == 0, "signal %d: no PT_LOAD with the stack marker", sig);
  free(f);
}

int main(void) {
  rep = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(rep != MAP_FAILED, "mmap");
  mkdir(DIR, 0755);
  CHECK(chdir(DIR) == 0, "chdir " DIR);
  unlink("core");

  /* 1. The default limit is 0: no dump, no bit. */
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0, "default RLIMIT_CORE %lu", (unsigned long)rl.rlim_cur);
  int st = run_child(SIGSEGV, NULL);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WCOREDUMP(st), "limit 0: status %#x", st);
  CHECK(!exists("core"), "limit 0: a file core was written");

  /* 2. Less than a page: still no dump (Linux: binfmt min_coredump). */
  rl.rlim_cur = 4095;
  rl.rlim_max = RLIM_INFINITY;
  CHECK(setrlimit(RLIMIT_CORE, &rl) == 0, "setrlimit 4095");
  st = run_child(SIGSEGV, NULL);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WCOREDUMP(st), "limit 4095: status %#x", st);
  CHECK(!exists("core"), "limit 4095: a file core was written");

  /* 3. Unlimited: SIGSEGV, SIGABRT, SIGQUIT dump core. */
  rl.rlim_cur = RLIM_INFINITY;
  CHECK(setrlimit(RLIMIT_CORE, &rl) == 0, "setrlimit unlimited");
  static const int sigs[] = {SIGSEGV, SIGABRT, SIGQUIT};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    pid_t pid;
    st = run_child(sigs[i], &pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i] && WCOREDUMP(st) && (st & 0xff) == (sigs[i] | 0x80),
          "signal %d: status %#x, want %#x", sigs[i], st, sigs[i] | 0x80);
    struct stat sb;
    CHECK(lstat("core", &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600,
          "signal %d: core is not a regular file of mode 0600 (%o)", sigs[i], sb.st_mode);
    check_core(sigs[i], pid);
    CHECK(unlink("core") == 0, "unlink core");
  }

  /* 4. SIGTERM's default action is to terminate, without a core. */
  st = run_child(SIGTERM, NULL);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && !WCOREDUMP(st), "SIGTERM: status %#x", st);
  CHECK(!exists("core"), "SIGTERM wrote a core");

  /* 5. A directory named core: no dump, no bit, the directory stays. */
  CHECK(mkdir("core", 0755) == 0, "mkdir core");
  st = run_child(SIGSEGV, NULL);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WCOREDUMP(st), "directory core: status %#x", st);
  struct stat sb;
  CHECK(lstat("core", &sb) == 0 && S_ISDIR(sb.st_mode), "directory core replaced");
  CHECK(rmdir("core") == 0, "rmdir core");

  /* 6. A symlink named core is removed and a new file made: its target is never written. */
  CHECK(symlink(DIR "/target", "core") == 0, "symlink");
  st = run_child(SIGSEGV, NULL);
  CHECK(WIFSIGNALED(st) && (st & 0xff) == (SIGSEGV | 0x80), "symlink core: status %#x", st);
  CHECK(lstat("core", &sb) == 0 && S_ISREG(sb.st_mode), "symlink core: core is not a regular file now");
  CHECK(!exists(DIR "/target"), "symlink core: its target was written");
  CHECK(unlink("core") == 0, "unlink core");

  CHECK(chdir("/") == 0 && rmdir(DIR) == 0, "rmdir " DIR);
  return test_ok();
}
