#include "nvml.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace gpubench::cuda {

namespace {
/** libnvidia-ml.so.1, loaded and initialised once; null with `why` set when it is missing or fails. */
void* library(std::string* why) {
  static std::string failure;
  static void* lib = [] {
    void* h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      failure = "not loaded: libnvidia-ml.so.1 not found";
      return (void*)nullptr;
    }
    auto init = reinterpret_cast<int (*)()>(dlsym(h, "nvmlInit_v2"));
    if (!init) {
      failure = "not loaded: libnvidia-ml.so.1 lacks nvmlInit_v2";
      return (void*)nullptr;
    }
    if (int s = init(); s != 0) {
      failure = "not loaded: nvmlInit_v2 failed with status " + std::to_string(s);
      return (void*)nullptr;
    }
    return h;
  }();
  if (!lib && why) *why = failure;
  return lib;
}
}  // namespace

Nvml& Nvml::forDevice(const std::string& pciBusId) {
  static std::mutex mutex;
  static std::map<std::string, Nvml> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(pciBusId);
  if (found != cache.end()) return found->second;
  Nvml& n = cache[pciBusId];
  void* lib = library(&n.detail_);
  if (!lib) return n;
  auto byBus = reinterpret_cast<int (*)(const char*, void**)>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
  n.energy_ = reinterpret_cast<int (*)(void*, unsigned long long*)>(dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption"));
  if (!byBus || !n.energy_) {
    n.detail_ = "not loaded: libnvidia-ml.so.1 lacks a needed symbol";
    n.energy_ = nullptr;
    return n;
  }
  if (int s = byBus(pciBusId.c_str(), &n.device_); s != 0) {
    n.detail_ = "no NVML device for PCI bus " + pciBusId + " (status " + std::to_string(s) + ")";
    n.energy_ = nullptr;
    return n;
  }
  unsigned long long mj = 0;
  if (int s = n.energy_(n.device_, &mj); s != 0) {
    n.detail_ = "energy counter not supported on this device (status " + std::to_string(s) + ")";
    n.energy_ = nullptr;
    return n;
  }
  n.detail_ = "libnvidia-ml.so.1 (total energy counter)";
  return n;
}

double Nvml::energyMillijoules() const {
  if (!energy_) return -1;
  unsigned long long mj = 0;
  return energy_(device_, &mj) == 0 ? (double)mj : -1;
}

std::string nvmlDetail(const std::string& pciBusId) { return Nvml::forDevice(pciBusId).detail(); }

std::string nvmlDriverRelease() {
  void* lib = library(nullptr);
  if (!lib) return "";
  auto get = reinterpret_cast<int (*)(char*, unsigned)>(dlsym(lib, "nvmlSystemGetDriverVersion"));
  char release[96] = {0};
  if (!get || get(release, sizeof release) != 0) return "";
  return release;
}

}  // namespace gpubench::cuda
