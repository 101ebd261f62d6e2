/* lab7_filemap — lab 7 (docs/labs/lab7.md): private file mappings, as Linux 6.1 makes them
 * (mm/memory.c do_read_fault, do_cow_fault, do_wp_page; mm/filemap.c filemap_fault; truncate's
 * unmap_mapping_range).
 * Covers: a MAP_PRIVATE page that was never written is the page cache's page: it shows a later
 * pwrite to the file, reading 64 pages of a cached file allocates no page frames (on teachos,
 * through KSTAT; skipped on Linux), the bytes after EOF in the last page read 0 and the page after
 * it is SIGBUS (BUS_ADRERR, si_addr); a write — first access or after a read — makes a private copy:
 * the writer sees its bytes, the file (read()), a MAP_SHARED mapping and another MAP_PRIVATE
 * mapping do not, and a later pwrite to that page no longer shows through it (it still does on the
 * pages not written); msync(MS_SYNC) writes nothing back; after fork each side's writes to its
 * private copy stay its own; a MAP_SHARED store is seen by read() and by an unwritten private
 * page; executable private file pages run; ftruncate takes the pages past the new end away — a
 * written private copy too — so touching them is SIGBUS; munmap frees every private copy (KSTAT).
 */
#define TEST_NAME "lab7_filemap"
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096
#define NPAGES 64
#define SIZE (3 * PG + 100) /* the small file: its last page is partly past EOF */
#define PATH "/tmp/lab7_filemap.data"
#define BIG "/tmp/lab7_filemap.big"

/* teachos's KSTAT system call: 0 = frames in use; -1 on Linux, which has none. */
static long frames_in_use(void) {
  long r = syscall(1000, 0);
  return r < 0 ? -1 : r;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i % 251 + 1); } /* never 0 */

static sigjmp_buf jb;
static volatile sig_atomic_t bus_code;
static void *volatile bus_addr;
static void on_bus(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  bus_code = si->si_code;
  bus_addr = si->si_addr;
  siglongjmp(jb, 1);
}

/* Reads the byte at p; 1 if it raised SIGBUS (si_code, si_addr in bus_code, bus_addr). */
static int touch_bus(volatile unsigned char *p, int write) {
  bus_code = 0;
  bus_addr = NULL;
  if (sigsetjmp(jb, 1) == 0) {
    if (write)
      *p = 0x77;
    else
      (void)*p;
    return 0;
  }
  return 1;
}

static int file_byte(int fd, off_t off) {
  unsigned char b;
  CHECK(pread(fd, &b, 1, off) == 1, "pread at %lld", (long long)off);
  return b;
}

static void put_byte(int fd, off_t off, unsigned char b) {
  CHECK(pwrite(fd, &b, 1, off) == 1, "pwrite at %lld", (long long)off);
}

static int make_file(const char *path, size_t size) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0, "open %s", path);
  unsigned char *buf = malloc(size);
  CHECK(buf != NULL, "malloc");
  for (size_t i = 0; i < size; i++)
    buf[i] = pattern(i);
  CHECK(write(fd, buf, size) == (ssize_t)size, "write %zu bytes to %s", size, path);
  free(buf);
  return fd;
}

static unsigned char *map(int fd, size_t len, int prot, int flags) {
  unsigned char *p = mmap(NULL, len, prot, flags, fd, 0);
  CHECK(p != MAP_FAILED, "mmap %zu bytes prot %d flags %#x", len, prot, flags);
  return p;
}

/* 1. Reading a private mapping: the cache's pages, no copies. */
static void read_only(int fd) {
  /* Five pages over a file of three and a bit: page 4 is past the end. */
  unsigned char *p = map(fd, 5 * PG, PROT_READ, MAP_PRIVATE);
  for (size_t i = 0; i < SIZE; i++)
    CHECK(p[i] == pattern(i), "private read: byte %zu is %#x, the file has %#x", i, p[i], pattern(i));
  for (size_t i = SIZE; i < 4 * PG; i++)
    CHECK(p[i] == 0, "private read: byte %zu past EOF (in the last page) is %#x, not 0", i, p[i]);
  CHECK(touch_bus(p + 4 * PG + 8, 0) && bus_code == BUS_ADRERR && bus_addr == p + 4 * PG + 8,
        "reading the page past EOF: SIGBUS %s, si_code %d (BUS_ADRERR %d), si_addr %p (want %p)",
        bus_code ? "raised" : "not raised", (int)bus_code, BUS_ADRERR, bus_addr, (void *)(p + 4 * PG + 8));
  /* Never written, the private page is the file's page: it shows a later write to the file. */
  put_byte(fd, PG + 5, 0xee);
  CHECK(p[PG + 5] == 0xee, "an unwritten MAP_PRIVATE page does not show a pwrite to the file (%#x, not 0xee): "
        "a read fault must map the page cache's page, not a copy", p[PG + 5]);
  put_byte(fd, PG + 5, pattern(PG + 5));
  CHECK(munmap(p, 5 * PG) == 0, "munmap");

  /* 64 cached pages read through a private mapping take no frames but page tables. */
  int big = make_file(BIG, NPAGES * PG);
  long before = frames_in_use();
  unsigned char *q = map(big, NPAGES * PG, PROT_READ, MAP_PRIVATE);
  unsigned sum = 0;
  for (size_t i = 0; i < NPAGES * PG; i += PG)
    sum += q[i] + q[i + PG - 1];
  long after = frames_in_use();
  CHECK(before < 0 || after - before < 8,
        "reading %d cached pages through MAP_PRIVATE took %ld frames (sum %u): each read fault made a copy",
        NPAGES, after - before, sum);
  CHECK(munmap(q, NPAGES * PG) == 0, "munmap");
  close(big);
  CHECK(unlink(BIG) == 0, "unlink");
}

/* 2. Writing a private mapping: private copies; 3. msync; 4. fork; 5. munmap. */
static void private_writes(int fd) {
  long before = frames_in_use();
  unsigned char *p = map(fd, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  unsigned char *other = map(fd, 4 * PG, PROT_READ, MAP_PRIVATE);
  unsigned char *shared = map(fd, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED);
  p[10] = 0xa1;                            /* page 0: a write is the first access */
  CHECK(p[PG + 20] == pattern(PG + 20), "page 1 before its write");
  p[PG + 20] = 0xa2;                       /* page 1: a write after a read */
  p[3 * PG + 50] = 0xa3;                   /* page 3: in the last page, before EOF */
  p[SIZE + 10] = 0xa4;                     /* and past EOF */
  CHECK(p[10] == 0xa1 && p[PG + 20] == 0xa2 && p[3 * PG + 50] == 0xa3 && p[SIZE + 10] == 0xa4,
        "the private mapping does not hold its own writes (%#x %#x %#x %#x)", p[10], p[PG + 20], p[3 * PG + 50],
        p[SIZE + 10]);
  CHECK(p[11] == pattern(11) && p[PG + 21] == pattern(PG + 21) && p[SIZE - 1] == pattern(SIZE - 1),
        "the private copies did not copy the rest of the page (%#x %#x %#x)", p[11], p[PG + 21], p[SIZE - 1]);
  static const struct {
    size_t off;
    const char *what;
  } w[] = {{10, "page 0"}, {PG + 20, "page 1"}, {3 * PG + 50, "page 3"}};
  for (int i = 0; i < 3; i++) {
    size_t o = w[i].off;
    CHECK(file_byte(fd, o) == pattern(o), "a write to %s of a MAP_PRIVATE mapping reached the file (read() gives %#x)",
          w[i].what, file_byte(fd, o));
    CHECK(other[o] == pattern(o), "a write to %s of a MAP_PRIVATE mapping shows in another private mapping (%#x)",
          w[i].what, other[o]);
    CHECK(shared[o] == pattern(o), "a write to %s of a MAP_PRIVATE mapping shows in a MAP_SHARED mapping (%#x)",
          w[i].what, shared[o]);
  }
  CHECK(other[SIZE + 10] == 0 && shared[SIZE + 10] == 0, "a private write past EOF shows in other mappings");
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE, "a private write past EOF changed the file's size to %lld",
        (long long)st.st_size);
  /* The file changes: the written pages are copies now, the others still the file's. */
  put_byte(fd, 12, 0xb1);
  put_byte(fd, 2 * PG + 7, 0xb2);
  CHECK(p[12] == pattern(12), "after its write, page 0 of the private mapping still follows the file (%#x)", p[12]);
  CHECK(p[2 * PG + 7] == 0xb2, "page 2 of the private mapping, never written, does not show a pwrite (%#x)",
        p[2 * PG + 7]);
  CHECK(other[12] == 0xb1, "an unwritten private mapping does not show a pwrite (%#x)", other[12]);
  put_byte(fd, 12, pattern(12));
  put_byte(fd, 2 * PG + 7, pattern(2 * PG + 7));
  /* A MAP_SHARED store is the file's, and shows in the unwritten private pages. */
  shared[2 * PG + 9] = 0xc1;
  CHECK(file_byte(fd, 2 * PG + 9) == 0xc1 && p[2 * PG + 9] == 0xc1 && other[2 * PG + 9] == 0xc1,
        "a MAP_SHARED store: read() %#x, the unwritten private pages %#x %#x (want 0xc1)", file_byte(fd, 2 * PG + 9),
        p[2 * PG + 9], other[2 * PG + 9]);
  shared[2 * PG + 9] = pattern(2 * PG + 9);

  /* msync writes no private page back. */
  CHECK(msync(p, 4 * PG, MS_SYNC) == 0, "msync");
  CHECK(file_byte(fd, 10) == pattern(10) && file_byte(fd, PG + 20) == pattern(PG + 20),
        "msync(MS_SYNC) of a MAP_PRIVATE mapping wrote its copies to the file");

  /* After fork, each side's private copies are its own. */
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    int ok = p[10] == 0xa1 && p[PG + 20] == 0xa2;
    p[10] = 0xd1;          /* a private copy, copy-on-write again */
    p[2 * PG] = 0xd2;      /* a file page not copied before fork */
    ok = ok && p[10] == 0xd1 && p[2 * PG] == 0xd2 && file_byte(fd, 2 * PG) == pattern(2 * PG);
    _exit(ok ? 0 : 1);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the child did not see the parent's private writes, or its own (status %#x)", status);
  CHECK(p[10] == 0xa1 && p[2 * PG] == pattern(2 * PG) && file_byte(fd, 2 * PG) == pattern(2 * PG),
        "the child's writes to its private copy reached the parent (%#x %#x) or the file", p[10], p[2 * PG]);

  /* munmap frees the copies (and nothing reaches the file). */
  CHECK(munmap(p, 4 * PG) == 0 && munmap(other, 4 * PG) == 0 && munmap(shared, 4 * PG) == 0, "munmap");
  CHECK(file_byte(fd, 10) == pattern(10) && file_byte(fd, SIZE - 1) == pattern(SIZE - 1),
        "after munmap the file changed");
  long after = frames_in_use();
  CHECK(before < 0 || after <= before, "after munmap %ld frames are in use, %ld before the mmap: private copies leaked",
        after, before);
}

/* 6. Executable private file pages. */
static void exec_page(void) {
  int fd = open("/tmp/lab7_filemap.code", O_RDWR | O_CREAT | O_TRUNC, 0755);
  CHECK(fd >= 0, "open the code file");
  const uint32_t code[] = {0x52800540, 0xd65f03c0}; /* mov w0, #42; ret */
  CHECK(write(fd, code, sizeof code) == sizeof code, "write the code");
  unsigned char *p = map(fd, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE);
  int (*fn)(void) = (int (*)(void))(void *)p;
  int r = fn();
  CHECK(r == 42, "code run from a MAP_PRIVATE PROT_EXEC file page returned %d, not 42", r);
  CHECK(munmap(p, PG) == 0, "munmap");
  close(fd);
  CHECK(unlink("/tmp/lab7_filemap.code") == 0, "unlink");
}

/* 7. Truncation takes the pages past the new end away, written copies too. */
static void truncate_pages(int fd) {
  unsigned char *p = map(fd, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  p[2 * PG + 1] = 0xe1; /* a private copy of page 2 */
  CHECK(p[3 * PG] == pattern(3 * PG), "page 3 before the truncate");
  CHECK(ftruncate(fd, PG) == 0, "ftruncate");
  CHECK(p[5] == pattern(5), "page 0 after the truncate is %#x", p[5]);
  CHECK(touch_bus(p + 2 * PG + 1, 0) && bus_addr == p + 2 * PG + 1,
        "after ftruncate to one page, the private copy of page 2 can still be read: truncate must unmap the "
        "pages past the new end, private copies included (SIGBUS %s, si_addr %p)",
        bus_code ? "raised" : "not raised", bus_addr);
  CHECK(touch_bus(p + 3 * PG + 8, 1) && bus_addr == p + 3 * PG + 8,
        "after ftruncate to one page, writing page 3 does not raise SIGBUS (si_addr %p)", bus_addr);
  CHECK(munmap(p, 4 * PG) == 0, "munmap");
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGBUS, &sa, NULL) == 0, "sigaction");
  int fd = make_file(PATH, SIZE);
  read_only(fd);
  private_writes(fd);
  exec_page();
  truncate_pages(fd);
  close(fd);
  CHECK(unlink(PATH) == 0, "unlink");
  return test_ok();
}
