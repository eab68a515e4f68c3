// The CPU's "kernel launch": one near-empty task through the thread pool, waited for. It measures
// what dispatching work to the backend costs (waking a worker, handing over, signalling back).
#include "context.h"

namespace gpubench::cpu {

void launch(ThreadPool& pool, float* flag) {
  pool.parallelFor(1, [flag](int, int) { *flag = 1.0f; });
}

}  // namespace gpubench::cpu
