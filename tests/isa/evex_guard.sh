#!/bin/bash
# Fails when a binary holds AVX-512 (EVEX-encoded) instructions outside the
# functions that run only on CPUs with AVX-512 (namespace pagoda::vnni,
# chosen at run time by cpu::SelectedIsa()). An AVX2-only CPU (the Zen 3
# class) would die with SIGILL in any other function that held one: for
# example an inline function from a header that a file compiled for
# AVX-512 emitted out of line and the linker then shared with every caller.
#
# Usage: evex_guard.sh BINARY...   (needs objdump from binutils)
set -euo pipefail
command -v objdump > /dev/null || { echo "evex_guard: objdump not found (binutils)" >&2; exit 1; }
status=0
for bin in "$@"; do
  # An EVEX instruction starts with byte 0x62 after any address-size or
  # segment prefixes (0x62 opens no other instruction in 64-bit mode).
  # objdump prints "\tbytes\tinstruction"; a long instruction's further
  # bytes continue on lines without an instruction, which are skipped.
  bad=$(objdump -d -C --no-addresses "$bin" | awk -F'\t' '
    /^<.*>:$/ { fn = $0; next }
    NF >= 3 {
      n = split($2, b, " ")
      i = 1
      while (i <= n && b[i] ~ /^(67|2e|3e|26|36|64|65)$/) i++
      if (i <= n && b[i] == "62") count[fn]++
    }
    END { for (f in count) print count[f] "\t" f }' | grep -v "pagoda::vnni::" || true)
  total=$(objdump -d -C --no-addresses "$bin" | awk -F'\t' 'NF >= 3 { split($2, b, " "); i = 1; while (b[i] ~ /^(67|2e|3e|26|36|64|65)$/) i++; if (b[i] == "62") n++ } END { print n + 0 }')
  if [ -n "$bad" ]; then
    echo "evex_guard: $bin: AVX-512 instructions outside pagoda::vnni:" >&2
    echo "$bad" >&2
    status=1
  else
    echo "evex_guard: $bin: $total AVX-512 instructions, all in pagoda::vnni"
  fi
done
exit $status
