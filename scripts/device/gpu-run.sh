#!/usr/bin/env bash
# The first run on an NVIDIA GPU host (no Node, no network): one stage per call, each within a
# few minutes, everything it measured written under $OUT (default .device/out).
#
# Here, before: pnpm install (the addon built with nvcc, sm_90 among GPUBENCH_CUDA_ARCHS), then
#   bash ../shared/device/pack.sh        # .device/: Node, node_modules, build outputs
# There, in the copy of the tree:
#   bash scripts/device/gpu-run.sh tests   # CUDA tests (kernels, training) and WebGPU on Vulkan
#   bash scripts/device/gpu-run.sh record  # the quick suites on CUDA and WebGPU; this device's baselines
#   bash scripts/device/gpu-run.sh paper   # the paper preset's training on CUDA (Table 4's batches)
#   bash scripts/device/gpu-run.sh torch   # PyTorch beside it: kernels and the training step
# Stages can be chained in one call ("tests record"); each appends to $OUT/<stage>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-.device/out}
mkdir -p "$OUT"

if [[ ! -x .device/bin/node ]]; then
  bash .device/unpack.sh || { echo "gpu-run: .device/unpack.sh failed (run pack.sh here first)" >&2; exit 1; }
fi
export PATH=$PWD/.device/bin:$PWD/node_modules/.bin:$PATH
# WebGPU through Dawn's Vulkan backend needs the loader; .deb files carried in .device/gl/ are unpacked once.
if compgen -G ".device/gl/*.deb" > /dev/null && ! ldconfig -p | grep -q libvulkan.so.1; then
  for deb in .device/gl/*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
[[ -z ${VK_DRIVER_FILES:-} && -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg}
mkdir -p "$XDG_RUNTIME_DIR"

stage() {
  local name=$1
  shift
  echo "== $name: $*" | tee -a "$OUT/$name.log"
  "$@" 2>&1 | tee -a "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc" | tee -a "$OUT/$name.log"
}

for what in "$@"; do
  case $what in
    tests)
      stage tests nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv
      stage tests node -e "import('@gpubench/native').then(async n => console.log(JSON.stringify(await n.cudaBackend.probe(), null, 1)))"
      stage tests vitest run packages/native/test/cuda.test.ts packages/native/test/gpu-train.test.ts \
        packages/native/test/cuda-host.test.ts packages/webgpu/test/train.test.ts
      ;;
    record)
      # The quick preset everywhere (the paper preset's kernels take longer than a stage allows);
      # baselines for this host's devices only (CUDA, WebGPU on the NVIDIA adapter, its CPU).
      GPUBENCH_PRESET=quick stage record node packages/vitest-plugin/src/cli/main.ts record --runs 1
      cp -r baselines "$OUT/baselines"
      ;;
    paper)
      GPUBENCH_PRESET=paper stage paper vitest bench --run suites/training.bench.ts -t "\[cuda\]" \
        --outputJson "$OUT/paper-training.json"
      ;;
    torch)
      stage torch python3 .device/torch_reference.py --quick
      stage torch python3 scripts/device/torch_train.py --preset quick --steps 30
      stage torch python3 scripts/device/torch_train.py --preset paper --steps 10
      ;;
    *)
      echo "gpu-run: unknown stage '$what' (tests, record, paper, torch)" >&2
      exit 2
      ;;
  esac
done
