#pragma once
// The float32 MLP kernel compiled a second time for AVX2 + FMA (mlp_float_kernel_avx2.cpp), chosen
// at run time when the CPU has both (docs/benchmarks.md, "Runtime dispatch"). This header is the
// whole interface between that translation unit and the rest of the library, so it uses no Eigen
// type: the AVX2 unit compiles Eigen under another namespace name (metaevo_avx2_eigen), and no
// inline or template function may be shared between code compiled for different CPUs.
#include <cstddef>

namespace metaevo::task_detail {

/// A kernel as a table of plain functions. A workspace holds one network's scratch for a given
/// number of samples (create allocates it; evaluate allocates nothing when called with that number).
struct MlpFloatKernel {
  const char* name;  // "avx2-fma"
  /// layer_sizes: input, hidden..., output (size_count >= 2). tanh_activation: tanh, else relu.
  void* (*create)(const std::ptrdiff_t* layer_sizes, std::size_t size_count, bool tanh_activation,
                  std::ptrdiff_t samples);
  void (*destroy)(void* workspace);
  /// The mean loss at `parameters` (double, rounded to float on the way in) over `samples` columns
  /// of `inputs` (float, column-major, layer_sizes[0] rows). Regression: `targets` has one float per
  /// sample and `labels` is null; classification: `labels` has one class per sample and `targets`
  /// is null. `gradient` (parameter count doubles): written when not null.
  double (*evaluate)(void* workspace, const double* parameters, const float* inputs, std::ptrdiff_t samples,
                     const float* targets, const std::ptrdiff_t* labels, double* gradient);
};

}  // namespace metaevo::task_detail

// The only symbol the AVX2 unit exports (tests/check_avx2_kernel_symbols.sh checks this): the
// kernel's table. Call it only when the CPU has AVX2 and FMA; calling it allocates nothing and runs
// no vector instruction, but the table's functions do.
extern "C" const metaevo::task_detail::MlpFloatKernel* metaevo_mlp_float_kernel_avx2_fma() noexcept;
