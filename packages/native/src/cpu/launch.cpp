// The CPU's "kernel launch": one near-empty task handed to a helper thread of the pool, waited for.
// It measures what dispatching work to the backend costs (handing over to a helper, which is
// spinning when launches follow each other closely and asleep otherwise, and signalling back). Not
// parallelFor, which runs a single task on the calling thread.
#include "context.h"

namespace gpubench::cpu {

void launch(ThreadPool& pool, float* flag) {
  pool.runOnHelper([flag](int, int) { *flag = 1.0f; });
}

}  // namespace gpubench::cpu
