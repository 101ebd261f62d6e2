# teachos — build, run, test and debug the kernel under qemu-system-aarch64 -M virt.
#
#   make run                 boot to a shell (/sbin/init starts it; QEMU exits when it does)
#   make run INIT=path/elf   run any static AArch64 Linux ELF as the first process
#   make run INIT=/bin/prog ARGS='-c "a b"'   a program in the machine, with arguments
#   make run OVERLAY=dir     add dir's tree to the machine's root (dir/bin/x is /bin/x)
#   make test                host unit tests + QEMU user-program tests + tool checks
#   make gdb                 QEMU halted with a gdb stub, gdb-multiarch attached
#   make gdb-user PROG=name  the same with a user program's symbols, run as init
#   make rr                  record a run with QEMU's record/replay (1 CPU; INIT/ARGS as for run)
#   make replay              replay the recording, gdb attached: reverse-continue, reverse-stepi
#   make pictures            docs/pictures/*.svg: address spaces before/after fork and a COW fault
#   make bench               benchmarks in guest instructions (-icount), each next to Linux 6.1's: a table,
#                            build/bench/results.tsv and docs/pictures/bench/*.svg (BENCH_ONLY=part, ci/bench.sh)
#   make bench-plots         docs/pictures/bench/*.svg redrawn from the last make bench's results
#   make profile             instructions per kernel function (QEMU TCG plugin) of PROG (bench_sweep)
#                            with ARGS (profile 0 10: ten fork+exit+wait), FORK=odf, LINUX=1 (on Linux 6.1)
#   make grade LAB=n         a coursework lab's tests with points (docs/labs/)
#   make skeleton LAB=n      a student copy of the tree for lab n (labs/labN.toml), a git repo
#   make trace               boot with tracing on, run INIT (default /bin/forkdemo), and turn
#                            the buffer into timelines: build/trace.{txt,json,html} (docs/tracing.md)
#   make lint                cargo fmt --check and clippy
#   make miri                the host unit tests under Miri (undefined behaviour checks)
#   make fuzz                long system-call fuzzer runs, release and dev kernels (ci/fuzz.sh)
#   make oracle              every test program on real Linux 6.1 arm64, one boot (ci/oracle.sh)
#   make oracle-expected     tests/busybox/*.expected regenerated on Linux (ci/oracle.sh)
#
# Variables: PROFILE=release|dev (dev keeps stepping sensible), LOG=info|debug|trace[:cats]
# (the kernel command line's log=, no rebuild), TRACE=on|syscall,proc,fault,cow,switch (trace=),
# FORK=odf (on-demand fork: fork=odf, docs/odf.md), MEM=256M, CPUS=n (QEMU -smp: 4 for run and test, 1 for gdb unless given), GDB_PORT
# (default: 1234 + uid), and for build, run, gdb and gdb-user:
#   INIT=path    the first program. A path that exists inside the machine's root
#                (/bin/forkdemo, or a file of OVERLAY) runs there; otherwise it is a file
#                on this computer, copied into the machine as /init.
#   ARGS='...'   init's arguments, after "--" on the kernel command line; double quotes
#                group words as on Linux: ARGS='sh -c "echo a; echo b"' is 3 arguments.
#   OVERLAY=dir  dir's tree is added to the machine's root (build/rootfs, the initramfs),
#                modes and symlinks kept, replacing the project's files of the same name.
#   ROOTFS=debian  the root is Debian 12's (bash, coreutils, python3...: dynamically
#                linked programs; ci/fetch-debian-rootfs.sh, docs/dynamic.md), the
#                project's programs in /opt/teachos/bin; /sbin/init starts bash
#                (ARGS=bash), MEM 1G.

PROFILE ?= release
ROOTFS ?=
ifeq ($(ROOTFS),debian)
MEM ?= 1G
ARGS ?= bash
endif
# The fault_inject test system call (src/mm/inject.rs); FAULT_INJECTION=0 builds without.
FAULT_INJECTION ?= 1
# log= and trace= on the kernel command line (docs/tracing.md); empty: not passed.
LOG ?=
TRACE ?=
TRACE_BUF ?=
# FORK=odf: fork shares last-level page tables copy-on-write (fork=odf on the kernel
# command line; src/mm/odf.rs, docs/odf.md). Empty: classic fork.
FORK ?=
MEM ?= 256M
# Empty: 4 CPUs for run/test/bench, 1 for gdb (deterministic stepping).
CPUS ?=
INIT ?=
ARGS ?=
OVERLAY ?=
TIMEOUT ?= 60
GDB_PORT ?= $(shell echo $$((1234 + $$(id -u) % 20000)))

# The kernel is built for the soft-float target, so the compiler cannot emit a single
# FP/SIMD instruction in kernel code (user FP/SIMD registers stay the user's; see
# docs/fpsimd.md). User programs are ordinary hard-float AArch64 code.
KERNEL_TARGET := aarch64-unknown-none-softfloat
KERNEL_FEATURES := $(if $(filter 1,$(FAULT_INJECTION)),--features fault-injection)
TARGET := aarch64-unknown-none
CARGO_PROFILE := $(if $(filter dev,$(PROFILE)),dev,release)
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
PROFILE_DIR := $(if $(filter dev,$(PROFILE)),debug,release)
OUT := $(TARGET_DIR)/$(TARGET)/$(PROFILE_DIR)
BUILD := build
KERNEL_ELF := $(BUILD)/kernel
IMAGE := $(BUILD)/Image
INITRD := $(BUILD)/initrd.cpio
# This computer's own target (the host unit tests run there; the llvm-tools live under
# it): x86_64-unknown-linux-gnu on a PC, aarch64-unknown-linux-gnu on an ARM Linux host.
HOST_TARGET := $(shell rustc -vV | sed -n 's/^host: //p')
SYSROOT_BIN = $(shell rustc --print sysroot)/lib/rustlib/$(HOST_TARGET)/bin
QEMU := qemu-system-aarch64
QEMU_ARGS = -M virt -cpu cortex-a72 -smp $(or $(CPUS),4) -m $(MEM) -nographic -nic none -no-reboot \
            -semihosting-config enable=on,target=native \
            -kernel $(IMAGE) -initrd $(INITRD)
# The rule of ci/mkinitrd.sh: INIT inside the machine's root runs there, otherwise it was
# copied in as /init. Expanded when a recipe runs, so after mkinitrd.sh built the root.
INIT_IN_ROOT = $(if $(filter /%,$(INIT)),$(shell p='$(BUILD)/rootfs$(INIT)'; [ -e "$$p" ] || [ -L "$$p" ] && echo y))
# Without INIT: the project's init (user/src/bin/init.rs), which starts the shell.
INIT_PATH = $(if $(INIT),$(if $(INIT_IN_ROOT),$(INIT),/init),/sbin/init)
# $(value ARGS): ARGS as typed (a $ in it is left alone, not expanded by make).
CMDLINE = semihosting$(if $(LOG), log=$(LOG))$(if $(TRACE), trace=$(TRACE))$(if $(TRACE_BUF), trace_buf=$(TRACE_BUF))$(if $(FORK), fork=$(FORK)) init=$(INIT_PATH)$(if $(value ARGS), -- $(value ARGS))
# shell-quote: 'text' with each ' written as '\'', so quotes in ARGS reach QEMU unchanged.
shq = '$(subst ','\'',$(1))'

.PHONY: all setup build run test unit miri qemu-test fuzz e2e gdb gdb-user walkthrough grade skeleton bench lint clean \
        oracle oracle-expected rr replay rr-walkthrough pictures trace bench-plots profile

all: build

setup:
	@ci/setup.sh

build: setup
	cargo build --profile $(CARGO_PROFILE) -p kernel --target $(KERNEL_TARGET) $(KERNEL_FEATURES)
	cargo build --profile $(CARGO_PROFILE) -p user --target $(TARGET)
	@mkdir -p $(BUILD)
	@cp $(TARGET_DIR)/$(KERNEL_TARGET)/$(PROFILE_DIR)/kernel $(KERNEL_ELF)
	$(SYSROOT_BIN)/llvm-objcopy -O binary $(KERNEL_ELF) $(IMAGE)
	$(SYSROOT_BIN)/llvm-nm -n $(KERNEL_ELF) | grep -i ' t ' > $(BUILD)/System.map
	@ci/build-extra.sh $(TARGET_DIR) $(BUILD)
	@ROOTFS=$(ROOTFS) ci/mkinitrd.sh $(OUT) $(BUILD) $(call shq,$(INIT)) $(call shq,$(OVERLAY))

# An interactive run ends after RUN_TIMEOUT seconds (every QEMU run has a timeout).
RUN_TIMEOUT ?= 3600
run: build
	@echo "teachos: QEMU starting; Ctrl-A x quits it, Ctrl-A c is its monitor (or type poweroff; docs/troubleshooting.md)" >&2
	@timeout --foreground $(RUN_TIMEOUT) $(QEMU) $(QEMU_ARGS) -append $(call shq,$(CMDLINE))

test: build
	@CPUS=$(or $(CPUS),4) ci/test.sh $(OUT) $(BUILD)

unit: setup
	cargo test --lib -p kernel --target $(HOST_TARGET)

# The same tests under Miri, which reports undefined behaviour (aliasing violations, out
# of bounds, leaks) in the unsafe code they run. Strict provenance: the host fake hands
# out pointers derived from the simulated RAM's allocation, never integers cast back.
# Miri runs on the pinned nightly of ci/setup.sh (MIRI_TOOLCHAIN); the kernel stays on
# the stable toolchain of rust-toolchain.toml.
MIRI_TOOLCHAIN = $(shell sed -n 's/^MIRI_TOOLCHAIN=//p' ci/setup.sh)
MIRIFLAGS ?= -Zmiri-strict-provenance
miri: setup
	MIRIFLAGS="$(MIRIFLAGS)" cargo +$(MIRI_TOOLCHAIN) miri test --lib -p kernel --target $(HOST_TARGET)

qemu-test: build
	@ONLY=qemu ci/test.sh $(OUT) $(BUILD)

# Long fuzzer runs, each in its own boot, on the release and the PROFILE=dev kernel:
# FUZZ_CALLS (1000000), FUZZ_SEEDS (three new ones), FUZZ_PROFILES, FUZZ_TIMEOUT, FUZZ_TRACE=1.
fuzz: build
	@ci/fuzz.sh $(OUT) $(BUILD)

# The specification: every program of user/tests.list on Debian's Linux 6.1 arm64 under
# the same QEMU, in one boot (ORACLE_CPUS=4, ORACLE_ONLY="names"); and the busybox
# suite's expected outputs (tests/busybox/NAME.expected) written from Linux.
oracle: build
	@ci/oracle.sh $(BUILD)

oracle-expected: setup
	@ci/oracle.sh --expected $(BUILD)

# QEMU halted at reset; gdb-multiarch with the kernel's symbols and gdb/teachos.gdb
# (Rust pretty-printers + the tasks/ptwalk/uframe helpers). The console goes to
# build/gdb-console.log. gdb/session.sh starts QEMU outside the terminal's process group
# (Ctrl-C reaches gdb, which interrupts the kernel, and not QEMU), refuses a port that is
# in use, and stops QEMU when gdb quits. GDBFLAGS: more gdb options (-batch -x FILE).
# The first ret_from_fork stop is pid 1's kernel thread (kernel_init, before it execs
# init); the next ones are forks (README, "Debugging with gdb").
GDB_QEMU_ARGS = $(subst -smp $(or $(CPUS),4),-smp $(or $(CPUS),1),$(QEMU_ARGS))
# GDB: the first gdb found that speaks AArch64 (Debian: gdb-multiarch; macOS Homebrew:
# aarch64-elf-gdb; docs/hosts.md); `make gdb GDB=...` names another.
GDB ?= $(or $(shell for g in gdb-multiarch aarch64-elf-gdb aarch64-linux-gnu-gdb; do command -v $$g && break; done),gdb-multiarch)
export GDB
GDB_SETUP = env RUST_GDB_DIR=$$(rustc --print sysroot)/lib/rustlib/etc $(GDB) -q $(KERNEL_ELF) -x gdb/teachos.gdb
GDBFLAGS ?=

gdb: build
	@echo "Try: break ret_from_fork, continue, tasks, uframe, ptwalk ADDR. Ctrl-C interrupts the kernel; quit gdb to stop QEMU."
	@gdb/session.sh $(GDB_PORT) $(BUILD)/gdb-console.log $(QEMU) $(GDB_QEMU_ARGS) -append $(call shq,$(CMDLINE)) -- \
	    $(GDB_SETUP) -ex "target remote 127.0.0.1:$(GDB_PORT)" $(GDBFLAGS)

# The same, running user program PROG as init, with its symbols loaded too: step from
# the program's svc into the kernel and back (`break main`, `stepi` over the svc).
gdb-user: build
	@test -n "$(PROG)" || { echo "usage: make gdb-user PROG=forkdemo"; exit 2; }
	@test -f "$(OUT)/$(PROG)" || { echo "make gdb-user: no $(OUT)/$(PROG) (PROG is one of user/src/bin/*.rs)"; exit 2; }
	@echo "Running /bin/$(PROG) as init. Ctrl-C interrupts the kernel; quit gdb to stop QEMU."
	@gdb/session.sh $(GDB_PORT) $(BUILD)/gdb-console.log $(QEMU) $(GDB_QEMU_ARGS) -append "semihosting init=/bin/$(PROG)" -- \
	    $(GDB_SETUP) -ex "add-symbol-file $(OUT)/$(PROG)" -ex "target remote 127.0.0.1:$(GDB_PORT)" $(GDBFLAGS)

# Only QEMU, halted with its gdb stub, for a debugger started elsewhere (VS Code's
# .vscode/launch.json, or gdb-multiarch by hand); Ctrl-C stops it. PROG=name as gdb-user.
.PHONY: gdb-server
gdb-server: build
	@gdb/session.sh $(GDB_PORT) $(BUILD)/gdb-console.log $(QEMU) $(GDB_QEMU_ARGS) \
	    -append $(if $(PROG),"semihosting init=/bin/$(PROG)",$(call shq,$(CMDLINE))) --

# Coursework labs (docs/labs/, labs/): grade one, or write a student skeleton for it. In
# a skeleton LAB defaults to its lab (labs/current). The skeleton goes to DEST, default
# ../<this directory's name>-labN; an existing DEST is never overwritten.
LAB_NOW = $(or $(LAB),$(shell cat labs/current 2>/dev/null))
LAB_LIST = $(shell ls labs | sed -n 's/^lab\([0-9]*\)\.toml$$/\1/p' | sort -n | tr '\n' ' ')
grade: build
	@test -n "$(LAB_NOW)" || { echo "usage: make grade LAB=n   (labs: $(LAB_LIST))"; exit 2; }
	@ci/grade.sh $(LAB_NOW) $(OUT) $(BUILD)

skeleton:
	@test -n "$(LAB)" || { echo "usage: make skeleton LAB=n [DEST=dir]   (labs: $(LAB_LIST))"; exit 2; }
	@ci/skeleton.py $(LAB) $(DEST)

# Regenerates the transcript in docs/gdb-walkthrough.md from a real gdb session.
walkthrough: build
	@ci/walkthrough.sh $(OUT) $(BUILD) docs/gdb-walkthrough.md

# Reverse debugging (docs/reverse-debugging.md, ci/rr.sh): `make rr` records the machine of
# `make run` (INIT, ARGS, OVERLAY) on one CPU — what you type is recorded too — into
# $(RR_DIR), with copies of the kernel, its symbols and the initrd; `make replay` replays
# that recording under a gdb stub with gdb-multiarch attached (gdb/teachos.gdb and
# gdb/aspace.py loaded). Quitting gdb stops QEMU.
RR_DIR := $(BUILD)/rr
rr: build
	@ci/rr.sh record $(BUILD) $(OUT) $(RR_DIR) $(call shq,$(CMDLINE))

replay:
	@ci/rr.sh replay $(RR_DIR) $(GDB_PORT)

# Regenerates the transcript in docs/reverse-debugging.md from a recorded and replayed run.
rr-walkthrough: build
	@ci/rr-walkthrough.sh $(OUT) $(BUILD) docs/reverse-debugging.md

# Regenerates docs/pictures/*.svg (aspace-svg at three moments of forkdemo's fork).
pictures: build
	@ci/pictures.sh $(OUT) $(BUILD) docs/pictures

bench: build
	@ci/bench.sh $(OUT) $(BUILD)

bench-plots:
	@python3 ci/bench_plots.py $(BUILD)/bench docs/pictures/bench

# A profile by function: PROG (a program of user/src/bin) runs as init on one CPU under
# -icount with ci/profile/insn_count.c loaded into QEMU; instructions are counted between
# the program's profile_start and profile_stop (bench_sweep has them), charged to the
# kernel's functions (build/System.map) and the program's. SVG=file also draws the chart;
# FORK=odf boots with fork=odf; LINUX=1 profiles the same program on Linux 6.1 instead.
profile: PROG := $(or $(PROG),bench_sweep)
profile: ARGS := $(or $(value ARGS),profile 0 10)
profile: build
	@PROFILE_SVG=$(SVG) PROFILE_LINUX=$(or $(LINUX),0) PROFILE_KARGS='$(if $(FORK),fork=$(FORK))' ci/profile.sh $(OUT) $(BUILD) $(PROG) $(call shq,$(ARGS))

# Tracing (docs/tracing.md): boots with trace=$(TRACE) (default on: every category) and
# TRACE_BUF events of buffer, under -icount (1 ns of timestamp = 1 instruction), runs
# INIT (default /bin/forkdemo) with ARGS; the kernel prints the buffer at power-off and
# ci/trace.py turns it into build/trace.txt (per CPU and per task), build/trace.json
# (Chrome trace events: ui.perfetto.dev, chrome://tracing) and build/trace.html.
trace: INIT := $(or $(INIT),/bin/forkdemo)
trace: TRACE := $(or $(TRACE),on)
trace: TRACE_BUF := $(or $(TRACE_BUF),16384)
trace: build
	@timeout --foreground 600 $(QEMU) $(QEMU_ARGS) -icount shift=0 \
	    -append $(call shq,$(CMDLINE)) </dev/null | tr -d '\r' | tee $(BUILD)/trace-console.log
	@ci/trace.py $(BUILD)/trace-console.log $(BUILD)/trace

lint: setup
	cargo fmt --all -- --check
	cargo clippy -p kernel --target $(KERNEL_TARGET) --features fault-injection -- -D warnings
	cargo clippy -p user --target $(TARGET) -- -D warnings
	cargo clippy --lib -p kernel --target $(HOST_TARGET) --tests -- -D warnings

clean:
	cargo clean
	rm -rf $(BUILD)
