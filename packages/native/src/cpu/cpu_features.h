// Runtime dispatch on CPU features: the best kernel variant this CPU supports.
#pragma once

#include <string>
#include <vector>

#include "kernels.h"

namespace gpubench::cpu {

/** Features relevant to the kernels, as detected: e.g. {"avx2", "fma", "f16c"} or {"neon"}. */
std::vector<std::string> cpuFeatures();

/** The variant to use: "auto" picks the best supported one; "portable" forces the fallback. */
const CpuKernels& selectKernels(const std::string& isa);

/** The processor's marketing name, e.g. "AMD EPYC 7B13" (empty when unknown). */
std::string cpuModel();

}  // namespace gpubench::cpu
