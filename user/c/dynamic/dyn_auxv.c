/* A dynamically linked glibc program (PT_INTERP /lib/ld-linux-aarch64.so.1, a PIE):
 * the kernel maps it and the dynamic loader, and the loader finds the program through
 * the auxiliary vector. Checks that vector against what the loader and libc saw
 * (dl_iterate_phdr, the vDSO, /proc/self/maps), an execve of a dynamic program from a
 * dynamic one, and the errors execve gives for a bad PT_INTERP (ENOENT, ELIBBAD, EIO,
 * ENOEXEC), as Linux's load_elf_binary does. */
#define _GNU_SOURCE
#define TEST_NAME "dyn_auxv"
#include "../tests/common.h"
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char _start[];

struct seen {
  unsigned long prog_bias, prog_phdr, prog_phnum, ld_bias;
  int objects;
};

static int each_object(struct dl_phdr_info *info, size_t size, void *data) {
  struct seen *s = data;
  (void)size;
  if (s->objects++ == 0) { /* the program comes first */
    s->prog_bias = info->dlpi_addr;
    s->prog_phdr = (unsigned long)info->dlpi_phdr;
    s->prog_phnum = info->dlpi_phnum;
  } else if (strstr(info->dlpi_name, "ld-linux-aarch64")) {
    s->ld_bias = info->dlpi_addr;
  }
  return 0;
}

/* Copies this program to `path` with its PT_INTERP string replaced by `interp`
 * (`len` bytes, which must fit the original's room), then execve's it. */
static int exec_with_interp(const char *path, const char *interp, size_t len) {
  int in = open("/proc/self/exe", O_RDONLY);
  CHECK(in >= 0, "open /proc/self/exe");
  struct stat st;
  CHECK(fstat(in, &st) == 0, "fstat");
  char *img = malloc(st.st_size);
  CHECK(img && read(in, img, st.st_size) == st.st_size, "read own file");
  close(in);
  Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
  Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
  int found = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_INTERP) continue;
    CHECK(len <= ph[i].p_filesz, "interp %s too long", interp);
    memset(img + ph[i].p_offset, 0, ph[i].p_filesz);
    memcpy(img + ph[i].p_offset, interp, len);
    found = 1;
  }
  CHECK(found, "no PT_INTERP in a dynamic program");
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  CHECK(out >= 0 && write(out, img, st.st_size) == st.st_size, "write %s", path);
  close(out);
  free(img);
  char *argv[] = {(char *)path, "child", NULL};
  errno = 0;
  execve(path, argv, environ);
  int e = errno;
  unlink(path);
  return e;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0)
    return getauxval(AT_BASE) != 0 ? 42 : 1; /* started by its loader too */
  printf("dyn_auxv: hello from a dynamically linked program\n");

  struct seen s = {0};
  dl_iterate_phdr(each_object, &s);
  unsigned long base = getauxval(AT_BASE), phdr = getauxval(AT_PHDR);
  CHECK(base != 0 && base % 4096 == 0, "AT_BASE %#lx", base);
  CHECK(s.ld_bias == base, "AT_BASE %#lx, the loader is at %#lx", base, s.ld_bias);
  CHECK(phdr == s.prog_phdr, "AT_PHDR %#lx, the program's headers are at %#lx", phdr, s.prog_phdr);
  CHECK(getauxval(AT_PHNUM) == s.prog_phnum, "AT_PHNUM %lu vs %lu", getauxval(AT_PHNUM), s.prog_phnum);
  CHECK(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT %lu", getauxval(AT_PHENT));
  CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY %#lx, _start %p", getauxval(AT_ENTRY), _start);
  CHECK(s.prog_bias != 0 && s.prog_bias % 4096 == 0, "a PIE's bias %#lx", s.prog_bias);
  CHECK(phdr > s.prog_bias && phdr < s.prog_bias + 4096, "AT_PHDR in the first page of the PIE");
  CHECK(s.objects >= 3, "program, libc, loader (and the vDSO): %d objects", s.objects);
  /* The loader is not where the program is, nor the stack. */
  CHECK(base + 0x100000 <= s.prog_bias || s.prog_bias + 0x100000 <= base, "loader and program collide");
  CHECK(base < (unsigned long)&s, "loader below the stack");

  CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ %lu", getauxval(AT_PAGESZ));
  CHECK(getauxval(AT_FLAGS) == 0, "AT_FLAGS");
  CHECK(getauxval(AT_SECURE) == 0, "AT_SECURE");
  CHECK(getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid(), "AT_UID/EUID");
  CHECK(getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid(), "AT_GID/EGID");
  CHECK(getauxval(AT_CLKTCK) == (unsigned long)sysconf(_SC_CLK_TCK), "AT_CLKTCK %lu", getauxval(AT_CLKTCK));
  unsigned long hwcap = getauxval(AT_HWCAP);
  CHECK((hwcap & (HWCAP_FP | HWCAP_ASIMD)) == (HWCAP_FP | HWCAP_ASIMD), "AT_HWCAP %#lx lacks FP/ASIMD", hwcap);
  CHECK(hwcap & HWCAP_AES && hwcap & HWCAP_PMULL && hwcap & HWCAP_SHA2 && hwcap & HWCAP_CRC32,
        "AT_HWCAP %#lx lacks a cortex-a72 feature", hwcap);
  const char *platform = (const char *)getauxval(AT_PLATFORM);
  CHECK(platform && strcmp(platform, "aarch64") == 0, "AT_PLATFORM %s", platform ? platform : "(none)");
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  char a0[256];
  snprintf(a0, sizeof a0, "%s", argv[0]);
  CHECK(execfn && strcmp(basename((char *)execfn), basename(a0)) == 0, "AT_EXECFN %s", execfn);
  const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
  CHECK(vdso && memcmp(vdso, ELFMAG, SELFMAG) == 0, "AT_SYSINFO_EHDR");
  unsigned long minsig = getauxval(AT_MINSIGSTKSZ);
  CHECK(minsig >= 4096 && minsig <= 8192, "AT_MINSIGSTKSZ %lu", minsig);
  const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
  CHECK(rnd != NULL, "AT_RANDOM");

  /* libc.so.6 was mapped from its file: /proc/self/maps names it. */
  FILE *maps = fopen("/proc/self/maps", "r");
  CHECK(maps, "open /proc/self/maps");
  char line[512];
  int libc = 0;
  while (fgets(line, sizeof line, maps))
    libc |= strstr(line, "libc.so.6") != NULL;
  fclose(maps);
  CHECK(libc, "libc.so.6 in /proc/self/maps");

  /* The loader is mapped, but not held against writers (Linux allow_write_access after
   * loading it); the program itself is (ETXTBSY). Nothing is written. */
  int w = open("/lib/ld-linux-aarch64.so.1", O_WRONLY);
  CHECK(w >= 0, "open the running loader for writing");
  close(w);
  errno = 0;
  CHECK(open("/proc/self/exe", O_WRONLY) < 0 && errno == ETXTBSY, "open the running program for writing");

  /* A dynamic program execs a dynamic program. */
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    char *args[] = {"dyn_auxv", "child", NULL};
    execv("/proc/self/exe", args);
    _exit(99);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42, "the exec'd child: status %#x", status);

  /* Bad interpreters, each in a child (a successful exec would replace us). */
  static const struct {
    const char *interp;
    size_t len; /* bytes written into PT_INTERP (NUL included unless testing that) */
    int err;
  } bad[] = {
      {"/lib/no-such-loader.so.1", 25, ENOENT},
      {"/tmp/dyn_textld", 16, ELIBBAD},  /* a text file, executable */
      {"/tmp/dyn_shortld", 17, EIO},     /* shorter than an ELF header */
      {"/tmp/dyn_noexec", 16, EACCES},   /* no execute permission */
      {"/lib/ld-linux-aarch64.so.1x", 27, ENOEXEC}, /* not NUL-terminated */
  };
  write_file("/tmp/dyn_textld", "this is a text file and no ELF interpreter at all, as long as an ELF header\n", 0755);
  write_file("/tmp/dyn_shortld", "\177ELF short", 0755);
  write_file("/tmp/dyn_noexec", "whatever", 0644);
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
      close(p[0]);
      int e = exec_with_interp("/tmp/dyn_badinterp", bad[i].interp, bad[i].len);
      write(p[1], &e, sizeof e);
      _exit(0);
    }
    close(p[1]);
    int e = -1;
    CHECK(read(p[0], &e, sizeof e) == sizeof e, "%s: the child exec'd", bad[i].interp);
    close(p[0]);
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(e == bad[i].err, "PT_INTERP %.*s: errno %d (%s), want %d (%s)", (int)bad[i].len, bad[i].interp,
          e, strerror(e), bad[i].err, strerror(bad[i].err));
  }
  unlink("/tmp/dyn_textld");
  unlink("/tmp/dyn_shortld");
  unlink("/tmp/dyn_noexec");
  return test_ok();
}
