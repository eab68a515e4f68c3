#include "system_blas.h"

#include <dlfcn.h>

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
        {"openblas", "libopenblas.so.0"}, {"openblas", "libopenblas.so"}, {"blis", "libblis.so.4"},
        {"blis", "libblis.so"},
    };
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
