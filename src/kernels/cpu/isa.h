// Run-time instruction-set selection for the CPU kernels. The choice is made
// once per process from CPUID and two environment variables:
// PAGODA_FORCE_PORTABLE=1 forces the portable path so it can be exercised
// on any machine, PAGODA_FORCE_AVX2=1 keeps an AVX-512 machine on the AVX2
// kernels (the path of CPUs without AVX-512, for comparisons).
// Thread-safe (the choice is a function-local static).
#pragma once

namespace pagoda::cpu {

// kAvx2: AVX2 + FMA + F16C kernels. kAvx512Vnni: the same kernels, except
// that the quantized products repacked by eight (kQ4_0x8, kQ8_0x8) take
// their integer dots with AVX-512 VNNI's vpdpbusd on 256-bit vectors
// (qmatmul_x8_vnni.cc); the results are the same bits.
enum class Isa { kPortable, kAvx2, kAvx512Vnni };

// Whether an ISA runs the AVX2 kernels (every one but the portable path).
inline bool UsesAvx2(Isa isa) { return isa != Isa::kPortable; }

// Whether this CPU can run the AVX2/FMA/F16C kernels at all.
bool CpuSupportsAvx2();
// ... and, besides, AVX-512 F/VL/BW with VNNI.
bool CpuSupportsAvx512Vnni();
// The path the public ops take: the widest the CPU supports, unless forced.
Isa SelectedIsa();
const char* IsaName(Isa isa);

}  // namespace pagoda::cpu
