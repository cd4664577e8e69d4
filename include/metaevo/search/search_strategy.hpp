#pragma once
// The outer optimizer behind one ask()/tell() interface: the GA, sep-CMA-ES, OpenAI-ES.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metaevo/search/genome.hpp"
#include "metaevo/search/strategy_state.hpp"

namespace metaevo {

/// A named per-generation statistic a strategy reports (e.g. "sigma", "mean_step_size"), stored in
/// /generations/strategy/<name> by the run store.
using StrategyStatistics = std::vector<std::pair<std::string, double>>;

/// Generational contract: ask() gives the genomes of generation() (always the same until tell());
/// tell() takes one fitness per genome in ask()'s order (lower is better; NaN and +-inf are worst)
/// and moves to the next generation. Genome ids are generation * population_size() + index.
/// Every random draw comes from a RandomStream keyed by (seed, purpose, generation, index), so the
/// result never depends on the order in which evaluations finished or on the rank count.
/// Genomes live in normalized coordinates: every x is in [0, 1] (strategies repair samples that fall
/// outside, and update from the repaired point, which is what was evaluated and stored).
class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  /// The registered name, e.g. "sep_cma_es".
  virtual std::string_view name() const = 0;
  virtual int population_size() const = 0;
  virtual std::int64_t generation() const = 0;
  virtual const std::vector<Genome>& ask() const = 0;
  virtual void tell(const std::vector<double>& fitness) = 0;

  /// Best genome over all told generations by told fitness (nullopt, +inf before the first tell).
  virtual const std::optional<Genome>& best() const = 0;
  virtual double best_fitness() const = 0;

  /// Statistics of the generation just told (called after tell()); empty by default.
  virtual StrategyStatistics statistics() const { return {}; }

  /// The whole state: a strategy rebuilt with the same constructor arguments and load_state(save_state())
  /// continues bit-identically.
  virtual StrategyState save_state() const = 0;
  /// Throws StorageError with a one-line reason when the state is not this strategy's, of an unknown
  /// version, or inconsistent (shapes, counters); the strategy is unchanged then.
  virtual void load_state(const StrategyState& state) = 0;
};

}  // namespace metaevo
