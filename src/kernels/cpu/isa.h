// Run-time instruction-set selection for the CPU kernels. The choice is made
// once per process from CPUID (AVX2 + FMA + F16C) and the environment
// variable PAGODA_FORCE_PORTABLE=1, which forces the portable path so it can
// be exercised on any machine. Thread-safe (the choice is a function-local
// static).
#pragma once

namespace pagoda::cpu {

enum class Isa { kPortable, kAvx2 };

// Whether this CPU can run the AVX2/FMA/F16C kernels at all.
bool CpuSupportsAvx2();
// The path the public ops take: kAvx2 when supported and not forced off.
Isa SelectedIsa();
const char* IsaName(Isa isa);

}  // namespace pagoda::cpu
