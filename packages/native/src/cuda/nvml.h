// NVML, loaded at run time (libnvidia-ml.so.1 ships with the driver), for the device's energy
// counter (nvmlDeviceGetTotalEnergyConsumption, millijoules since the driver loaded; Volta and later).
#pragma once

#include <string>

namespace gpubench::cuda {

class Nvml {
 public:
  /** Loads NVML once and finds the device with this PCI bus id ("0000:3b:00.0"). */
  static Nvml& forDevice(const std::string& pciBusId);
  /** The counter in millijoules, or a negative value when unavailable. */
  double energyMillijoules() const;
  /** The library loaded, or why energy is not reported. */
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
  void* device_ = nullptr;
  int (*energy_)(void*, unsigned long long*) = nullptr;
};

/** NVML's state without a device (for the probe when no device is open yet). */
std::string nvmlDetail(const std::string& pciBusId);

/** The driver release NVML reports ("580.65.06"), "" when NVML is missing. */
std::string nvmlDriverRelease();

}  // namespace gpubench::cuda
