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

/// How a strategy numbers its genomes: id = generation * stride + offset + index. One population
/// uses stride = population size and offset 0; island i of n (each of population P) uses stride
/// n * P and offset i * P, so ids stay unique over the whole run (docs/islands.md).
struct GenomeNumbering {
  std::int64_t stride = 0;  // 0: the population size
  std::int64_t offset = 0;
  std::int64_t id(std::int64_t generation, std::int64_t index, std::int64_t population_size) const {
    return generation * (stride > 0 ? stride : population_size) + offset + index;
  }
};

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

  // ---- Islands (docs/islands.md): optional; the defaults throw Error naming the strategy. ----

  /// Renumbers the genomes (the current population now, later generations as they are made). Call
  /// before load_state() and before the first ask() is evaluated.
  virtual void set_genome_numbering(const GenomeNumbering& numbering);
  /// Whether accept_migrants() is implemented (a config with migration checks it before any work).
  virtual bool accepts_migrants() const { return false; }
  /// Genomes from another island, best first, taken in after tell(): they replace genomes of the
  /// population ask() gives next (the GA: its last ones, never an elite), keeping that slot's id with
  /// parent_a = parent_b = the migrant's id. At most max_migrants() of them.
  virtual void accept_migrants(const std::vector<Genome>& migrants);
  virtual int max_migrants() const { return 0; }
};

}  // namespace metaevo
