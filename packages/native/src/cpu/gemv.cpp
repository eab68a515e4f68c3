// GEMV on the CPU: always the own kernels (memory-bound, so the system BLAS would gain little,
// and f16 has no CBLAS routine).
#include "context.h"

namespace gpubench::cpu {

void gemv(CpuContext& ctx, const GemvProblem& problem) { ctx.kernels->gemv(problem, *ctx.pool, ctx.ws); }

}  // namespace gpubench::cpu
