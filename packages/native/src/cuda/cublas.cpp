#include "cublas.h"

#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <vector>

namespace gpubench::cuda {

namespace {
/** Library files to try, in order: an explicit path, the loader's search path, then Python wheels. */
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* explicitPath = std::getenv("GPUBENCH_CUBLAS")) out.push_back(explicitPath);
  out.push_back("libcublas.so.13");
  out.push_back("libcublas.so.12");
  out.push_back("libcublas.so");
  std::vector<std::string> patterns = {
      "/usr/local/lib/python3*/*-packages/nvidia/cublas/lib/libcublas.so.*",
      "/usr/lib/python3*/*-packages/nvidia/cublas/lib/libcublas.so.*",
      "/opt/conda/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.*",
      "/usr/local/lib/python3*/*-packages/nvidia/cu13/lib/libcublas.so.*",
  };
  if (const char* home = std::getenv("HOME"))
    patterns.push_back(std::string(home) + "/.local/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.*");
  if (const char* venv = std::getenv("VIRTUAL_ENV"))
    patterns.push_back(std::string(venv) + "/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so.*");
  if (const char* pythonPath = std::getenv("PYTHONPATH")) {
    std::string paths = pythonPath;
    size_t start = 0;
    while (start <= paths.size()) {
      size_t end = paths.find(':', start);
      if (end == std::string::npos) end = paths.size();
      if (end > start) patterns.push_back(paths.substr(start, end - start) + "/nvidia/cublas/lib/libcublas.so.*");
      start = end + 1;
    }
  }
  for (const auto& pattern : patterns) {
    glob_t found{};
    if (glob(pattern.c_str(), 0, nullptr, &found) == 0)
      for (size_t i = 0; i < found.gl_pathc; i++) out.push_back(found.gl_pathv[i]);
    globfree(&found);
  }
  return out;
}
}  // namespace

const Cublas& cublas() {
  static const Cublas loaded = [] {
    Cublas c;
    std::string tried;
    for (const auto& file : candidates()) {
      void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        if (tried.size() < 600) {
          const char* why = dlerror();
          tried += std::string(tried.empty() ? "" : "; ") + (why ? why : file);
        }
        continue;
      }
      c.create = reinterpret_cast<Cublas::CreateFn>(dlsym(h, "cublasCreate_v2"));
      c.destroy = reinterpret_cast<Cublas::DestroyFn>(dlsym(h, "cublasDestroy_v2"));
      c.setStream = reinterpret_cast<Cublas::SetStreamFn>(dlsym(h, "cublasSetStream_v2"));
      c.sgemmStridedBatched = reinterpret_cast<Cublas::SgemmStridedBatchedFn>(dlsym(h, "cublasSgemmStridedBatched"));
      c.gemmStridedBatchedEx = reinterpret_cast<Cublas::GemmStridedBatchedExFn>(dlsym(h, "cublasGemmStridedBatchedEx"));
      if (c.available()) {
        c.detail = file;
        return c;
      }
      tried += "; " + file + " lacks a needed symbol";
      c = Cublas{};
      dlclose(h);
    }
    c.detail = "not loaded: " + (tried.empty() ? std::string("no candidate file") : tried);
    return c;
  }();
  return loaded;
}

}  // namespace gpubench::cuda
