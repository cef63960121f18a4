#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace pagoda::cpu {

bool CpuSupportsAvx2() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return supported;
}

Isa SelectedIsa() {
  static const Isa isa = [] {
    // The only place the kernels read the environment.
    const char* force = std::getenv("PAGODA_FORCE_PORTABLE");
    const bool forced = force != nullptr && std::strcmp(force, "1") == 0;
    return (!forced && CpuSupportsAvx2()) ? Isa::kAvx2 : Isa::kPortable;
  }();
  return isa;
}

const char* IsaName(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "portable"; }

}  // namespace pagoda::cpu
