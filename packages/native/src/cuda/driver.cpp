#include "driver.h"

#include <fstream>
#include <sstream>

#include "nvml.h"

namespace gpubench::cuda {

int minimumDriverBranch(int runtimeVersion) {
  switch (runtimeVersion / 1000) {
    case 13:
      return 580;
    case 12:
      return 525;
    case 11:
      return 450;
    default:
      return 0;
  }
}

std::string driverReleaseFromProcText(const std::string& text) {
  const std::string marker = "Kernel Module";
  size_t at = text.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  // Some drivers say "Kernel Module for x86_64  580.65.06": take the first token that starts with a digit.
  std::istringstream words(text.substr(at, text.find('\n', at) - at));
  std::string word;
  while (words >> word)
    if (word[0] >= '0' && word[0] <= '9' && word.find('.') != std::string::npos) return word;
  return "";
}

std::string installedDriverRelease() {
  std::string release = nvmlDriverRelease();
  if (!release.empty()) return release;
  std::ifstream file("/proc/driver/nvidia/version");
  if (!file) return "";
  std::stringstream text;
  text << file.rdbuf();
  return driverReleaseFromProcText(text.str());
}

std::string insufficientDriverReason(const std::string& runtimeWords, int runtimeVersion,
                                     const std::string& installed) {
  std::string out = runtimeWords;
  const int branch = minimumDriverBranch(runtimeVersion);
  const std::string runtime = std::to_string(runtimeVersion / 1000) + "." + std::to_string(runtimeVersion % 1000 / 10);
  if (branch > 0)
    out += ": the addon's CUDA " + runtime + " runtime needs an NVIDIA driver of release " + std::to_string(branch) +
           " or newer (R" + std::to_string(branch) + "+)";
  out += installed.empty() ? "; no NVIDIA driver found (no NVML, no /proc/driver/nvidia/version)"
                           : "; installed: " + installed;
  return out;
}

}  // namespace gpubench::cuda
