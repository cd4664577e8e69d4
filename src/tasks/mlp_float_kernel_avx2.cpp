// The float32 MLP kernel (mlp_network.inc) compiled for AVX2 + FMA: CMake compiles this file alone
// with -mavx2 -mfma (CMakeLists.txt, METAEVO_AVX2_KERNEL), and task_mlp.cpp calls it only on a CPU
// that has both (mlp_float_kernel.hpp). Everything compiled here must stay out of the rest of the
// library: an inline or template function compiled here and elsewhere is emitted under one name in
// both objects, and the linker keeps one body for all callers (an AVX2 body run on an older CPU
// stops it with SIGILL). So:
//   - Eigen is compiled under the namespace metaevo_avx2_eigen (the #define below, before any
//     include): every Eigen symbol instantiated here has a name no other object uses;
//   - this unit's own code is in an anonymous namespace (internal linkage), the one exported symbol
//     being metaevo_mlp_float_kernel_avx2_fma;
//   - it includes no metaevo header but mlp_float_kernel.hpp (no Eigen, no inline function), and
//     no global object with a constructor runs here (nothing may run before the CPU is checked).
// tests/check_avx2_kernel_symbols.sh lists the symbols this object defines (nm) and fails when one
// is also defined by another object of the library, or when the object has static initializers.
#ifdef EIGEN_CORE_H
#error "Eigen was included before its namespace was renamed: include nothing above this line"
#endif
#define Eigen metaevo_avx2_eigen

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "tasks/mlp_float_kernel.hpp"

static_assert(std::is_same_v<::metaevo_avx2_eigen::Index, std::ptrdiff_t>, "Eigen's namespace was not renamed");
#if !defined(__AVX2__) || !defined(__FMA__)
#error "compile this file with -mavx2 -mfma (CMakeLists.txt)"
#endif

namespace {

enum class Activation { tanh, relu };

#include "tasks/mlp_network.inc"

using Network = MlpNetwork<float>;
using Matrix = Network::Matrix;
using Vector = Network::Vector;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;

/// One network's scratch, all sized for `samples` at construction.
struct Workspace {
  Workspace(const Eigen::Index* layer_sizes, std::size_t size_count, Activation activation, Eigen::Index samples)
      : network(layer_sizes, size_count, activation, samples),
        column_maxima(samples),
        column_sums(samples),
        inputs(layer_sizes[0], samples),
        targets(1, samples),
        parameters(network.parameter_count()),
        gradient(network.parameter_count()) {}

  Network network;
  RowVector column_maxima;
  RowVector column_sums;
  Matrix inputs;      // a copy of the caller's (this unit's Eigen type)
  Matrix targets;     // regression: a copy of the caller's
  Vector parameters;  // rounded to float
  Vector gradient;    // before widening to double
};

void* create(const std::ptrdiff_t* layer_sizes, std::size_t size_count, bool tanh_activation, std::ptrdiff_t samples) {
  return new Workspace(layer_sizes, size_count, tanh_activation ? Activation::tanh : Activation::relu, samples);
}

void destroy(void* workspace) { delete static_cast<Workspace*>(workspace); }

double evaluate(void* opaque, const double* parameters, const float* inputs, std::ptrdiff_t samples,
                const float* targets, const std::ptrdiff_t* labels, double* gradient) {
  Workspace& work = *static_cast<Workspace*>(opaque);
  const Eigen::Index count = work.network.parameter_count();
  // The same rounding as the generic kernel's cast: IEEE round to nearest, whatever the instruction.
  work.parameters = Eigen::Map<const Eigen::VectorXd>(parameters, count).cast<float>();
  work.inputs = Eigen::Map<const Matrix>(inputs, work.network.fan_in(0), samples);
  const bool classification = labels != nullptr;
  if (!classification) work.targets = Eigen::Map<const Matrix>(targets, 1, samples);
  const Matrix& outputs = work.network.forward(work.parameters, work.inputs);
  const double value = loss_of_forward(work.network, work.column_maxima, work.column_sums, outputs, work.targets,
                                       labels, classification, gradient != nullptr);
  if (gradient != nullptr) {
    work.network.backward(work.parameters, work.inputs, work.gradient);
    Eigen::Map<Eigen::VectorXd>(gradient, count) = work.gradient.cast<double>();
  }
  return value;
}

constexpr metaevo::task_detail::MlpFloatKernel kernel{"avx2-fma", &create, &destroy, &evaluate};

}  // namespace

extern "C" const metaevo::task_detail::MlpFloatKernel* metaevo_mlp_float_kernel_avx2_fma() noexcept { return &kernel; }
