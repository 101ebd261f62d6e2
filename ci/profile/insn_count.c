/*
 * A QEMU TCG plugin (`make profile`, ci/profile.sh): how many guest instructions executed
 * at each address, inside a window. ci/profile.py turns the counts into a profile by
 * function with build/System.map (the kernel) and the program's own symbols (user space).
 *
 * How it counts: when QEMU translates a block of guest code (a translation block, TB: a
 * run of instructions ending at a branch), tb_trans() records the block's start address
 * and the address of each of its instructions, and asks QEMU to call tb_exec() every time
 * the block runs. tb_exec() adds one to the block's counter while the window is open. At
 * the end, each instruction of a block is charged with the block's count. An exception in
 * the middle of a block (a page fault on a load) charges the instructions after it too: a
 * few per fault, in user space almost always (the kernel's own faults are its uaccess ones).
 *
 * The window: start=ADDR and stop=ADDR (virtual addresses of two marker functions of the
 * profiled program, bench_sweep's profile_start and profile_stop): counting starts when the
 * block at ADDR(start) runs and stops after the block at ADDR(stop) ran. Without them,
 * everything from reset to the end is counted.
 *   -plugin build/profile/insn_count.so,out=FILE,start=0x...,stop=0x...
 * FILE gets "# window N instructions" and then lines "ADDRESS COUNT" (hex, decimal), one
 * per instruction that ran in the window (an address may repeat: ci/profile.py adds them).
 *
 * QEMU's plugin header (include/qemu/qemu-plugin.h) is not packaged by Debian; the few
 * declarations this file needs are written out below from QEMU 7.2's plugin API, version 1
 * (the version Debian 12's qemu-system-aarch64 exports): same names, same types, same
 * enumerator values. QEMU refuses a plugin whose qemu_plugin_version it does not support.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU 7.2 plugin API (QEMU_PLUGIN_VERSION 1): the declarations used here ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);
/* ---- end of the API ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* One translation of a block. A block translated again (after a flush, or split under
 * -icount) gets a record of its own; the dump adds them up by address. */
struct block {
  uint64_t count;  /* executions inside the window */
  uint64_t vaddr;
  size_t n;
  uint64_t insn[]; /* the address of each instruction */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block **blocks;
static size_t nblocks, cap;
static uint64_t start_addr, stop_addr;
static bool window_open;
static char out_path[4096] = "insn_count.out";

/* Runs before every execution of a block (one vCPU: `make profile` boots with -smp 1;
 * with more, the window and the counts would be shared without ordering). */
static void tb_exec(unsigned int vcpu, void *udata) {
  struct block *b = udata;
  (void)vcpu;
  if (start_addr && b->vaddr == start_addr) window_open = true;
  if (window_open) b->count++;
  if (stop_addr && b->vaddr == stop_addr) window_open = false;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  struct block *b = calloc(1, sizeof *b + n * sizeof b->insn[0]);
  (void)id;
  if (!b) return;
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->n = n;
  for (size_t i = 0; i < n; i++) b->insn[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
  pthread_mutex_lock(&lock);
  if (nblocks == cap) {
    size_t c = cap ? 2 * cap : 4096;
    struct block **nb = realloc(blocks, c * sizeof *nb);
    if (!nb) {
      pthread_mutex_unlock(&lock);
      free(b);
      return;
    }
    blocks = nb, cap = c;
  }
  blocks[nblocks++] = b;
  pthread_mutex_unlock(&lock);
  qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *udata) {
  uint64_t total = 0;
  char msg[4200];
  FILE *f = fopen(out_path, "w");
  (void)id, (void)udata;
  if (!f) {
    snprintf(msg, sizeof msg, "insn_count: cannot write %s\n", out_path);
    qemu_plugin_outs(msg);
    return;
  }
  for (size_t i = 0; i < nblocks; i++) total += blocks[i]->count * blocks[i]->n;
  fprintf(f, "# window %" PRIu64 " instructions (start=0x%" PRIx64 " stop=0x%" PRIx64 ")\n", total,
          start_addr, stop_addr);
  for (size_t i = 0; i < nblocks; i++) {
    struct block *b = blocks[i];
    if (!b->count) continue;
    for (size_t j = 0; j < b->n; j++) fprintf(f, "%" PRIx64 " %" PRIu64 "\n", b->insn[j], b->count);
  }
  fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (!strncmp(argv[i], "out=", 4)) {
      snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    } else if (!strncmp(argv[i], "start=", 6)) {
      start_addr = strtoull(argv[i] + 6, NULL, 0);
    } else if (!strncmp(argv[i], "stop=", 5)) {
      stop_addr = strtoull(argv[i] + 5, NULL, 0);
    } else {
      fprintf(stderr, "insn_count: unknown argument %s (out=FILE start=ADDR stop=ADDR)\n", argv[i]);
      return -1;
    }
  }
  window_open = start_addr == 0;
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
