#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace pagoda::cpu {

namespace {
bool EnvIsOne(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}
}  // namespace

bool CpuSupportsAvx2() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return supported;
}

bool CpuSupportsAvx512Vnni() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return CpuSupportsAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  }();
  return supported;
}

Isa SelectedIsa() {
  static const Isa isa = [] {
    // The only place the kernels read the environment.
    if (EnvIsOne("PAGODA_FORCE_PORTABLE") || !CpuSupportsAvx2()) return Isa::kPortable;
    if (EnvIsOne("PAGODA_FORCE_AVX2") || !CpuSupportsAvx512Vnni()) return Isa::kAvx2;
    return Isa::kAvx512Vnni;
  }();
  return isa;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kAvx2: return "avx2";
    case Isa::kPortable: break;
  }
  return "portable";
}

}  // namespace pagoda::cpu
