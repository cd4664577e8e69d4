// A test plugin whose task family crashes its process: with METAEVO_TEST_SEGFAULT_AT=N in the
// environment, the N-th task this process samples writes through a null pointer in its first
// gradient, a real SIGSEGV inside an evaluation. Without the variable it is a plain quadratic, so a
// run resumed without it finishes as an uninterrupted run would.
#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "metaevo/core/plugin.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/tasks/task.hpp"

namespace {

// Volatile pointer and target: the compiler emits the store, whatever it knows about null. Not
// UBSan's: in the sanitizer build it would report the null store and exit before the signal.
__attribute__((no_sanitize("undefined"))) void write_through_null() {
  volatile int* volatile nowhere = nullptr;
  *nowhere = 1;
}

// 0.5 |x - c|^2, c ~ N(0, I), started at 0.
class CentredQuadraticTask final : public metaevo::Task {
 public:
  CentredQuadraticTask(Eigen::VectorXd centre, bool crashes) : centre_(std::move(centre)), crashes_(crashes) {}
  Eigen::Index dimension() const override { return centre_.size(); }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(centre_.size()); }
  double loss(const Eigen::VectorXd& x) const override { return 0.5 * (x - centre_).squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) const override {
    if (crashes_) write_through_null();
    gradient = x - centre_;
    return loss(x);
  }

 private:
  Eigen::VectorXd centre_;
  bool crashes_;
};

/// The N of METAEVO_TEST_SEGFAULT_AT, or 0 (never) when it is unset or not a positive number.
std::int64_t crashing_sample() {
  const char* text = std::getenv("METAEVO_TEST_SEGFAULT_AT");
  return text != nullptr ? std::max<std::int64_t>(0, std::atoll(text)) : 0;
}

class SegfaultingQuadraticFamily final : public metaevo::TaskFamily {
 public:
  explicit SegfaultingQuadraticFamily(const metaevo::Options& options)
      : dimension_(options.integer("dimension")), crashing_sample_(crashing_sample()) {}
  std::string_view name() const override { return "segfaulting_quadratic"; }
  std::unique_ptr<metaevo::Task> sample(std::uint64_t seed) const override {
    static std::atomic<std::int64_t> samples{0};  // in this process
    const bool crashes = ++samples == crashing_sample_;
    metaevo::RandomStream stream(seed);
    Eigen::VectorXd centre(dimension_);
    for (Eigen::Index i = 0; i < dimension_; ++i) centre(i) = stream.normal();
    return std::make_unique<CentredQuadraticTask>(std::move(centre), crashes);
  }

 private:
  Eigen::Index dimension_;
  std::int64_t crashing_sample_;
};

void register_segfaulting_family() {
  using namespace metaevo;
  register_task_family({
      .name = "segfaulting_quadratic",
      .help = "0.5 |x - c|^2, c ~ N(0, I); the METAEVO_TEST_SEGFAULT_AT-th task of a process segfaults",
      .options = {integer_option("dimension", 4, NumericRange::closed(1, 1000), "parameters")},
      .make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
        return std::make_unique<SegfaultingQuadraticFamily>(options);
      },
  });
}

}  // namespace

METAEVO_PLUGIN(register_segfaulting_family)
