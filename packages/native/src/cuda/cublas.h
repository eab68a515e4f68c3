// cuBLAS, loaded at run time with dlopen so the addon builds and runs without it. Declares the
// few entry points used, with cuBLAS's documented C signatures and constants.
//
// Where it is looked for, in order (cublasCandidates): GPUBENCH_CUBLAS; then, for the CUDA
// runtime's own major version first and the other supported one after, the toolkit's lib64
// ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda), the loader's search path, and the copies Python
// wheels put under site-packages/nvidia/{cublas,cu13}/lib; then the unversioned libcublas.so.
// A library whose symbols are missing or whose cublasCreate fails is passed over for the next one,
// and every failure is kept for the notes.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <string>
#include <vector>

namespace gpubench::cuda {

struct Cublas {
  using Handle = void*;
  using CreateFn = int (*)(Handle*);
  using DestroyFn = int (*)(Handle);
  using SetStreamFn = int (*)(Handle, cudaStream_t);
  using SgemmStridedBatchedFn = int (*)(Handle, int transa, int transb, int m, int n, int k, const float* alpha,
                                        const float* A, int lda, long long strideA, const float* B, int ldb,
                                        long long strideB, const float* beta, float* C, int ldc, long long strideC,
                                        int batchCount);
  using GemmStridedBatchedExFn = int (*)(Handle, int transa, int transb, int m, int n, int k, const void* alpha,
                                         const void* A, int Atype, int lda, long long strideA, const void* B, int Btype,
                                         int ldb, long long strideB, const void* beta, void* C, int Ctype, int ldc,
                                         long long strideC, int batchCount, int computeType, int algo);

  static constexpr int OP_N = 0, OP_T = 1;
  static constexpr int R_16F = 2, R_32F = 0;  // cudaDataType
  static constexpr int COMPUTE_32F = 68;      // cublasComputeType_t
  static constexpr int GEMM_DEFAULT = -1;     // cublasGemmAlgo_t

  /** The file loaded. */
  std::string file;
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn setStream = nullptr;
  SgemmStridedBatchedFn sgemmStridedBatched = nullptr;
  GemmStridedBatchedExFn gemmStridedBatchedEx = nullptr;
  bool available() const { return create && destroy && setStream && sgemmStridedBatched && gemmStridedBatchedEx; }
};

/** The majors of cuBLAS the addon can use. */
constexpr int kCublasMajors[] = {13, 12};

/**
 * The files to try, in order, without duplicates. `env` reads an environment variable (null when
 * unset); `expand` lists a glob pattern's matches (sorted). Pure apart from what those two do.
 */
std::vector<std::string> cublasCandidates(const std::function<const char*(const char*)>& env, int runtimeMajor,
                                          const std::function<std::vector<std::string>(const std::string&)>& expand);

/** The files a glob pattern matches, sorted (the `expand` the backend passes to cublasCandidates). */
std::vector<std::string> globMatches(const std::string& pattern);

/** Which candidate was chosen: the first whose attempt returned "" (index -1: none), and why each before it failed. */
struct CublasChoice {
  int index = -1;
  std::vector<std::string> failures;
};

/** Tries candidates in order until `attempt` (returns "" on success, else why not) succeeds. */
CublasChoice chooseCublas(const std::vector<std::string>& candidates,
                          const std::function<std::string(const std::string&)>& attempt);

/**
 * For the probe (no device context is created): the first candidate that loads with every needed
 * symbol, as "<file>", or "not loaded: <why>".
 */
std::string cublasDetail();

/** A handle, the library it came from, and every earlier candidate's failure ("<file>: <why>"). */
struct CublasHandle {
  const Cublas* library = nullptr;
  void* handle = nullptr;
  std::vector<std::string> failures;
};

/**
 * A cuBLAS handle from the first candidate whose cublasCreate succeeds (on the current device).
 * The first success is remembered: later calls create from that library. handle is null when no
 * candidate works, with every failure listed.
 */
CublasHandle createCublasHandle();

}  // namespace gpubench::cuda
