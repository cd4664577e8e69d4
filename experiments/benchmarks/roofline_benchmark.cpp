// The roofline of the MLP task's matrix products (issue 18, item 1): GFLOP/s of Eigen's GEMM in
// the shapes an MLP layer of 256 inputs and 256 outputs over a batch of 128 samples uses (forward
// W A, backward D A' and W' D), against the core's measured peak, a loop of independent
// multiply-adds on Eigen's packets (FMA where the build enables it, else multiply then add: the
// instructions the GEMM kernel itself uses). Both with this build's flags (see METAEVO_NATIVE).
// plot_roofline.py turns the JSON output into a figure.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

namespace {

/// Flops per second of `Accumulators` independent chains of packet multiply-adds: enough chains to
/// cover the latency of the multiply-add, few enough to stay in registers.
template <typename Scalar, int Accumulators>
void peak_multiply_add(benchmark::State& state) {
  using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
  constexpr int lanes = Eigen::internal::packet_traits<Scalar>::size;
  constexpr int repeats = 1000;
  Packet accumulators[Accumulators];
  for (int i = 0; i < Accumulators; ++i) accumulators[i] = Eigen::internal::pset1<Packet>(Scalar(i));
  // Factors that keep the values bounded: x <- 0.999 x + 0.001 converges to 1.
  const Packet factor = Eigen::internal::pset1<Packet>(Scalar(0.999));
  const Packet addend = Eigen::internal::pset1<Packet>(Scalar(0.001));
  for (auto _ : state) {
    for (int r = 0; r < repeats; ++r) {
      for (int i = 0; i < Accumulators; ++i) {
        accumulators[i] = Eigen::internal::pmadd(accumulators[i], factor, addend);
      }
    }
    benchmark::ClobberMemory();
  }
  Scalar sum = 0;
  for (int i = 0; i < Accumulators; ++i) sum += Eigen::internal::predux(accumulators[i]);
  benchmark::DoNotOptimize(sum);
  const double flops_per_iteration = 2.0 * lanes * Accumulators * repeats;
  state.counters["flops"] = benchmark::Counter(flops_per_iteration * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.counters["lanes"] = lanes;
}

enum class Product { forward, weight_gradient, input_delta };

/// One layer product at width x width over `samples` columns, as task_mlp.cpp writes it.
template <typename Scalar, Product product>
void layer_product(benchmark::State& state) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const auto width = static_cast<Eigen::Index>(state.range(0));
  const auto samples = static_cast<Eigen::Index>(state.range(1));
  const Matrix weights = Matrix::Random(width, width) * Scalar(0.1);
  const Matrix activations = Matrix::Random(width, samples);
  const Matrix deltas = Matrix::Random(width, samples);
  Matrix out_by_samples(width, samples);
  Matrix out_by_in(width, width);
  for (auto _ : state) {
    if constexpr (product == Product::forward) {
      out_by_samples.noalias() = weights * activations;
      benchmark::DoNotOptimize(out_by_samples.data());
    } else if constexpr (product == Product::weight_gradient) {
      out_by_in.noalias() = deltas * activations.transpose();
      benchmark::DoNotOptimize(out_by_in.data());
    } else {
      out_by_samples.noalias() = weights.transpose() * deltas;
      benchmark::DoNotOptimize(out_by_samples.data());
    }
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(width * width * samples);
  state.counters["flops"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK_TEMPLATE(peak_multiply_add, double, 8);
BENCHMARK_TEMPLATE(peak_multiply_add, double, 12);
BENCHMARK_TEMPLATE(peak_multiply_add, double, 16);
BENCHMARK_TEMPLATE(peak_multiply_add, float, 8);
BENCHMARK_TEMPLATE(peak_multiply_add, float, 12);
BENCHMARK_TEMPLATE(peak_multiply_add, float, 16);

// 64 is the comparison task's width, 256 the item's larger size; 128 samples throughout.
#define METAEVO_LAYER_PRODUCTS(Scalar, product) \
  BENCHMARK_TEMPLATE(layer_product, Scalar, product)->Args({64, 128})->Args({256, 128})
METAEVO_LAYER_PRODUCTS(double, Product::forward);
METAEVO_LAYER_PRODUCTS(double, Product::weight_gradient);
METAEVO_LAYER_PRODUCTS(double, Product::input_delta);
METAEVO_LAYER_PRODUCTS(float, Product::forward);
METAEVO_LAYER_PRODUCTS(float, Product::weight_gradient);
METAEVO_LAYER_PRODUCTS(float, Product::input_delta);

}  // namespace

BENCHMARK_MAIN();
