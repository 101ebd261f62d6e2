#!/usr/bin/env bash
# The kernel never touches FP/SIMD registers: disassembles the kernel ELF and lists every
# instruction that names a v/q/d/s/h/b register outside the FP-context save/restore code
# (fpsimd_save_state, fpsimd_load_state in arch/aarch64/fpsimd.rs). Exits 1 if any.
#   usage: check-no-fpsimd.sh KERNEL_ELF
set -uo pipefail
elf=$1
objdump=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-objdump | head -1)
allowed='^<(fpsimd_save_state|fpsimd_load_state)>:$'
"$objdump" -d --no-show-raw-insn "$elf" | awk -v allowed="$allowed" '
  /^[0-9a-f]+ <.*>:$/ { fn = $2; total_fns++; next }
  /^ *[0-9a-f]+:[ \t]/ {
    insns++
    # operands after the mnemonic: a register q0..q31, d.., s.., h.., b.., or v0..v31.<T>
    if ($0 ~ /\t[a-z0-9.]+\t.*([ ,{[]|\t)[qdshb]([0-9]|[12][0-9]|3[01])([],} ]|$)/ || $0 ~ /([ ,{]|\t)v([0-9]|[12][0-9]|3[01])\./) {
      if (fn ~ allowed) { inside++ } else { bad++; print "  " fn " " $0 }
    }
  }
  END {
    printf "  %d instructions in %d functions; %d FP/SIMD instructions, all in fpsimd_save_state/fpsimd_load_state; %d elsewhere\n", insns, total_fns, inside, bad + 0
    exit (bad > 0 || inside == 0)
  }'
