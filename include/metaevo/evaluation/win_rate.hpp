#pragma once
// Paired comparison of two optimizers on the same tasks: how often one ends lower than the other,
// with a Wilson score interval, and the median final loss. Used by `metaevo evaluate`.
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace metaevo {

/// Final losses this close (relative to the larger) are a tie: two optimizers that both reach a convex
/// task's optimum differ in the last digits only, and that noise must not decide a win.
inline constexpr double default_tie_tolerance = 1e-6;

/// The two-sided 95% normal quantile.
inline constexpr double wilson_z95 = 1.959963984540054;

struct Interval {
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

/// Wilson score interval for `successes` out of `trials` (successes may be fractional, as when ties
/// count half): center (p + z²/2n) / (1 + z²/n), half-width z/(1 + z²/n) sqrt(p(1-p)/n + z²/4n²).
/// Unlike p ± z sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at p = 0 or 1. NaN for 0 trials.
Interval wilson_interval(double successes, std::size_t trials, double z = wilson_z95);

/// A's wins over B on paired tasks.
struct WinRate {
  double wins = 0.0;      // tasks where A's loss is lower; a tie (see win_rate) counts half
  std::size_t tasks = 0;  // tasks compared
  double rate = std::numeric_limits<double>::quiet_NaN();  // wins / tasks (NaN without tasks)
  Interval interval;                                       // 95% Wilson score interval of the rate
};

/// Compares final losses task by task (same length). A non-finite loss (a diverged or failed run)
/// counts as +inf, so two diverged runs tie; finite losses tie when |a - b| <= tie_tolerance *
/// max(|a|, |b|).
WinRate win_rate(std::span<const double> a_losses, std::span<const double> b_losses,
                 double tie_tolerance = default_tie_tolerance);

/// The median with non-finite values counted as +inf (a diverged run is worse than any finished
/// one): +inf when half or more diverged. NaN for no values.
double median_loss(std::vector<double> losses);

}  // namespace metaevo
