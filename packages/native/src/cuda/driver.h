// The NVIDIA driver: its release ("580.65.06", what users compare; cudaDriverGetVersion gives the
// CUDA API version instead, 13000), and what the addon's static CUDA runtime needs of it.
#pragma once

#include <string>

namespace gpubench::cuda {

/** The oldest driver branch that runs a CUDA runtime of this version (1000 x major + 10 x minor): 13.x 580, 12.x
 * 525, 11.x 450; 0 unknown. */
int minimumDriverBranch(int runtimeVersion);

/** The release in the text of /proc/driver/nvidia/version ("NVRM version: ... Kernel Module  580.65.06  ..."), "" when
 * absent. */
std::string driverReleaseFromProcText(const std::string& text);

/** The installed driver's release: NVML's, else /proc/driver/nvidia/version's, else "". */
std::string installedDriverRelease();

/**
 * The unavailable reason when the driver is missing or too old for the runtime: the runtime's own
 * words, what it needs (an R580 or newer driver for the 13.x runtime) and what is installed.
 */
std::string insufficientDriverReason(const std::string& runtimeWords, int runtimeVersion, const std::string& installed);

}  // namespace gpubench::cuda
