#include "system_blas.h"

#include <dlfcn.h>

#include <cstdlib>

namespace gpubench::cpu {

const SystemBlas& systemBlas() {
  static const SystemBlas loaded = [] {
    SystemBlas blas;
    struct Candidate {
      const char* name;
      const char* file;
    };
#if defined(__APPLE__)
    const Candidate candidates[] = {
        {"accelerate", "/System/Library/Frameworks/Accelerate.framework/Accelerate"},
    };
#else
    const Candidate candidates[] = {
        {"openblas", "libopenblas.so.0"},
        {"openblas", "libopenblas.so"},
        {"blis", "libblis.so.4"},
        {"blis", "libblis.so"},
    };
#endif
#if !defined(__APPLE__)
    // OpenBLAS's worker threads busy-wait (sched_yield in a loop) for 2^28 cycles, about 0.1 s,
    // after every call before they sleep. On a machine with as many cores as threads that spinning
    // takes a core from whatever runs next: our own kernels (GEMV, f16 GEMM) measured 1.5-2x
    // slower, and by how much depended on how long ago the last f32 GEMM ran, so two runs of the
    // same benchmark disagreed. 2^4 cycles makes them sleep at once; waking them costs a few µs
    // per call, invisible next to a GEMM. Read by OpenBLAS when it is loaded, so set before
    // dlopen; a value the user set is kept.
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
#endif
    std::string tried;
    for (const auto& c : candidates) {
      void* handle = dlopen(c.file, RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        const char* why = dlerror();
        tried += std::string(tried.empty() ? "" : "; ") + (why ? why : c.file);
        continue;
      }
      auto fn = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
      if (!fn) {
        tried += std::string(tried.empty() ? "" : "; ") + c.file + " has no cblas_sgemm";
        dlclose(handle);
        continue;
      }
      blas.name = c.name;
      blas.detail = c.file;
      blas.sgemm = fn;
      return blas;  // kept loaded for the life of the process
    }
    blas.detail = "no system BLAS found (" + tried + ")";
    return blas;
  }();
  return loaded;
}

}  // namespace gpubench::cpu
