// The portable fallback: generic vectors, software f16 conversion. Runs on any CPU the compiler
// targets; selected when no better variant is supported, or on request (isa: 'portable').
#include "blocked.h"
#include "generic_arch.h"

namespace gpubench::cpu {
namespace {
using Portable = GenericArch<4, 2, 128, 256, 2048, SoftF16>;
const CpuKernels table = Blocked<Portable>::table("portable");
}  // namespace

const CpuKernels* portableKernels() { return &table; }

}  // namespace gpubench::cpu
