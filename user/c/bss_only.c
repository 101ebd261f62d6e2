/* An executable whose last PT_LOAD has p_filesz = 0 (only memory, no file bytes) and a
 * p_offset past the end of the file (ci/elf-bss-past-eof.py moves it there after linking;
 * bss_only.ld gives .bss a segment of its own). The loader must map that segment as
 * zero-filled, writable memory without reading the file. The program checks every byte
 * of it is 0, writes every page, and reads the values back. No libc: raw system calls.
 * Built by ci/build-extra.sh. */
typedef unsigned long u64;

static long sc3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}

static void out(const char *s) {
  long n = 0;
  while (s[n]) n++;
  sc3(64, 1, (long)s, n);
}

static void hex(u64 v) {
  char b[19] = "0x";
  for (int i = 0; i < 16; i++) b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  b[18] = 0;
  out(b);
}

static void __attribute__((noreturn)) quit(int code) {
  sc3(94, code, 0, 0); /* exit_group */
  __builtin_unreachable();
}

static void fail(const char *why, u64 where, u64 what) {
  out("bss_only: FAILED ");
  out(why);
  out(" at ");
  hex(where);
  out(": ");
  hex(what);
  out("\n");
  quit(1);
}

/* 5 pages and a bit (the segment's memsz is not a page multiple), in .bss: the only
 * contents of the file-less segment. */
#define SIZE (5 * 4096 + 123)
static volatile unsigned char zeroes[SIZE] __attribute__((aligned(4096)));
/* Initialised data in a normal segment, so the program has both kinds. */
static volatile u64 data_word = 0x0123456789abcdefUL;

void start_c(void) {
  if (data_word != 0x0123456789abcdefUL) fail("initialised data reads", (u64)&data_word, data_word);
  for (u64 i = 0; i < SIZE; i++)
    if (zeroes[i] != 0) fail("bss byte not zero", (u64)&zeroes[i], zeroes[i]);
  for (u64 i = 0; i < SIZE; i += 512) zeroes[i] = (unsigned char)(i / 512 + 1);
  for (u64 i = 0; i < SIZE; i++) {
    unsigned char want = i % 512 ? 0 : (unsigned char)(i / 512 + 1);
    if (zeroes[i] != want) fail("bss byte after writes", (u64)&zeroes[i], zeroes[i]);
  }
  out("bss_only: ok\n");
  quit(0);
}

__asm__(".text\n.global _start\n_start:\n mov x29, xzr\n mov x30, xzr\n bl start_c\n b .\n");
