#include "metaevo/evaluation/win_rate.hpp"

#include <algorithm>
#include <cmath>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

double as_loss(double value) { return std::isfinite(value) ? value : infinity; }

}  // namespace

Interval wilson_interval(double successes, std::size_t trials, double z) {
  if (trials == 0) return {};
  const auto n = static_cast<double>(trials);
  const double p = successes / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double center = (p + z2 / (2.0 * n)) / denominator;
  const double half_width = z / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  // At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1); rounding would miss it by a hair.
  const double low = successes <= 0.0 ? 0.0 : std::max(0.0, center - half_width);
  const double high = successes >= n ? 1.0 : std::min(1.0, center + half_width);
  return {low, high};
}

WinRate win_rate(std::span<const double> a_losses, std::span<const double> b_losses, double tie_tolerance) {
  if (a_losses.size() != b_losses.size()) {
    throw Error("win_rate: " + std::to_string(a_losses.size()) + " losses against " + std::to_string(b_losses.size()) +
                ": the tasks must be paired");
  }
  WinRate result;
  result.tasks = a_losses.size();
  for (std::size_t k = 0; k < a_losses.size(); ++k) {
    const double a = as_loss(a_losses[k]);
    const double b = as_loss(b_losses[k]);
    const bool tie = a == b || (std::isfinite(a) && std::isfinite(b) &&
                                std::abs(a - b) <= tie_tolerance * std::max(std::abs(a), std::abs(b)));
    if (tie) {
      result.wins += 0.5;
    } else if (a < b) {
      result.wins += 1.0;
    }
  }
  if (result.tasks > 0) result.rate = result.wins / static_cast<double>(result.tasks);
  result.interval = wilson_interval(result.wins, result.tasks);
  return result;
}

double median_loss(std::vector<double> losses) {
  if (losses.empty()) return std::numeric_limits<double>::quiet_NaN();
  for (double& loss : losses) loss = as_loss(loss);
  std::sort(losses.begin(), losses.end());
  const std::size_t middle = losses.size() / 2;
  if (losses.size() % 2 == 1) return losses[middle];
  return 0.5 * (losses[middle - 1] + losses[middle]);
}

}  // namespace metaevo
