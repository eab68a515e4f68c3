#include "cublas.h"

#include <dlfcn.h>
#include <glob.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

namespace gpubench::cuda {

std::vector<std::string> cublasCandidates(const std::function<const char*(const char*)>& env, int runtimeMajor,
                                          const std::function<std::vector<std::string>(const std::string&)>& expand) {
  std::vector<std::string> out;
  auto add = [&](const std::string& file) {
    if (!file.empty() && std::find(out.begin(), out.end(), file) == out.end()) out.push_back(file);
  };
  if (const char* explicitPath = env("GPUBENCH_CUBLAS")) add(explicitPath);

  std::vector<std::string> toolkits;
  for (const char* name : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* dir = env(name); dir && *dir) toolkits.push_back(std::string(dir) + "/lib64/");
  toolkits.push_back("/usr/local/cuda/lib64/");

  std::vector<std::string> sitePackages = {"/usr/local/lib/python3*/*-packages", "/usr/lib/python3*/*-packages",
                                           "/opt/conda/lib/python3*/site-packages"};
  if (const char* home = env("HOME")) sitePackages.push_back(std::string(home) + "/.local/lib/python3*/site-packages");
  if (const char* venv = env("VIRTUAL_ENV")) sitePackages.push_back(std::string(venv) + "/lib/python3*/site-packages");
  if (const char* pythonPath = env("PYTHONPATH")) {
    const std::string paths = pythonPath;
    size_t start = 0;
    while (start <= paths.size()) {
      size_t end = paths.find(':', start);
      if (end == std::string::npos) end = paths.size();
      if (end > start) sitePackages.push_back(paths.substr(start, end - start));
      start = end + 1;
    }
  }

  std::vector<int> majors = {runtimeMajor};
  for (int major : kCublasMajors)
    if (major != runtimeMajor) majors.push_back(major);
  for (int major : majors) {
    const std::string so = "libcublas.so." + std::to_string(major);
    for (const auto& dir : toolkits) add(dir + so);
    add(so);
    for (const auto& site : sitePackages)
      for (const char* sub : {"/nvidia/cublas/lib/", "/nvidia/cu13/lib/"})
        for (const auto& file : expand(site + sub + so + "*")) add(file);
  }
  for (const auto& dir : toolkits) add(dir + "libcublas.so");
  add("libcublas.so");
  return out;
}

CublasChoice chooseCublas(const std::vector<std::string>& candidates,
                          const std::function<std::string(const std::string&)>& attempt) {
  CublasChoice choice;
  for (size_t i = 0; i < candidates.size(); i++) {
    const std::string why = attempt(candidates[i]);
    if (why.empty()) {
      choice.index = (int)i;
      return choice;
    }
    choice.failures.push_back(candidates[i] + ": " + why);
  }
  return choice;
}

std::vector<std::string> globMatches(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t found{};
  if (glob(pattern.c_str(), 0, nullptr, &found) == 0)
    for (size_t i = 0; i < found.gl_pathc; i++) out.push_back(found.gl_pathv[i]);
  globfree(&found);
  return out;
}

namespace {

std::vector<std::string> processCandidates() {
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  return cublasCandidates([](const char* name) { return (const char*)std::getenv(name); }, runtime / 1000, globMatches);
}

std::mutex mutex;

/** Libraries loaded so far by file (kept loaded: a handle may outlive any one runnable). */
std::map<std::string, std::unique_ptr<Cublas>>& loaded() {
  static std::map<std::string, std::unique_ptr<Cublas>> libraries;
  return libraries;
}

/** Loads `file` with every needed symbol; "" on success, else why not. Caller holds `mutex`. */
std::string load(const std::string& file, const Cublas** out) {
  auto& libraries = loaded();
  if (auto it = libraries.find(file); it != libraries.end()) {
    *out = it->second.get();
    return "";
  }
  void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = dlerror();
    std::string text = why ? why : "dlopen failed";
    if (text.rfind(file + ": ", 0) == 0) text = text.substr(file.size() + 2);  // dlerror repeats the file name
    return text;
  }
  auto c = std::make_unique<Cublas>();
  c->file = file;
  c->create = reinterpret_cast<Cublas::CreateFn>(dlsym(h, "cublasCreate_v2"));
  c->destroy = reinterpret_cast<Cublas::DestroyFn>(dlsym(h, "cublasDestroy_v2"));
  c->setStream = reinterpret_cast<Cublas::SetStreamFn>(dlsym(h, "cublasSetStream_v2"));
  c->sgemmStridedBatched = reinterpret_cast<Cublas::SgemmStridedBatchedFn>(dlsym(h, "cublasSgemmStridedBatched"));
  c->gemmStridedBatchedEx = reinterpret_cast<Cublas::GemmStridedBatchedExFn>(dlsym(h, "cublasGemmStridedBatchedEx"));
  if (!c->available()) {
    dlclose(h);
    return "lacks a needed symbol";
  }
  *out = c.get();
  libraries[file] = std::move(c);
  return "";
}

std::string joined(const std::vector<std::string>& parts, size_t limit) {
  std::string out;
  for (const auto& p : parts) {
    if (out.size() > limit) return out + "; ...";
    out += (out.empty() ? "" : "; ") + p;
  }
  return out;
}

}  // namespace

std::string cublasDetail() {
  std::lock_guard<std::mutex> lock(mutex);
  const std::vector<std::string> candidates = processCandidates();
  const Cublas* lib = nullptr;
  const CublasChoice choice = chooseCublas(candidates, [&](const std::string& file) { return load(file, &lib); });
  if (choice.index < 0)
    return "not loaded: " + (choice.failures.empty() ? std::string("no candidate file") : joined(choice.failures, 600));
  return candidates[(size_t)choice.index];
}

CublasHandle createCublasHandle() {
  std::lock_guard<std::mutex> lock(mutex);
  static const Cublas* chosen = nullptr;
  CublasHandle out;
  auto attempt = [&](const std::string& file) -> std::string {
    const Cublas* lib = nullptr;
    if (std::string why = load(file, &lib); !why.empty()) return why;
    void* handle = nullptr;
    if (int s = lib->create(&handle); s != 0) return "cublasCreate failed with status " + std::to_string(s);
    out.library = lib;
    out.handle = handle;
    return "";
  };
  if (chosen) {
    if (std::string why = attempt(chosen->file); !why.empty()) out.failures.push_back(chosen->file + ": " + why);
    return out;
  }
  const CublasChoice choice = chooseCublas(processCandidates(), attempt);
  out.failures = choice.failures;
  if (out.library) chosen = out.library;
  return out;
}

}  // namespace gpubench::cuda
