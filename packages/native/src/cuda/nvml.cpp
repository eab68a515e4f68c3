#include "nvml.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace gpubench::cuda {

Nvml& Nvml::forDevice(const std::string& pciBusId) {
  static std::mutex mutex;
  static std::map<std::string, Nvml> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(pciBusId);
  if (found != cache.end()) return found->second;
  Nvml& n = cache[pciBusId];
  static void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    n.detail_ = "not loaded: libnvidia-ml.so.1 not found";
    return n;
  }
  auto init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
  auto byBus = reinterpret_cast<int (*)(const char*, void**)>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
  n.energy_ = reinterpret_cast<int (*)(void*, unsigned long long*)>(dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption"));
  if (!init || !byBus || !n.energy_) {
    n.detail_ = "not loaded: libnvidia-ml.so.1 lacks a needed symbol";
    n.energy_ = nullptr;
    return n;
  }
  static int initStatus = init();
  if (initStatus != 0) {
    n.detail_ = "not loaded: nvmlInit_v2 failed with status " + std::to_string(initStatus);
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

}  // namespace gpubench::cuda
