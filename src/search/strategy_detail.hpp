#pragma once
// Helpers shared by the distribution-based strategies (sep-CMA-ES, OpenAI-ES); not a public header.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/search/strategy_state.hpp"

namespace metaevo::strategy_detail {

/// Throws ConfigError "<prefix>.<field> must be <range>, got <seen>" unless ok.
inline void require_option(bool ok, std::string_view prefix, std::string_view field, std::string_view range,
                           const std::string& seen) {
  if (!ok) {
    throw ConfigError(std::string(prefix) + "." + std::string(field) + " must be " + std::string(range) + ", got " +
                      seen);
  }
}

/// Fitness used for ranking: NaN and +-inf all become +inf, the worst value.
inline std::vector<double> sanitized(const std::vector<double>& fitness) {
  std::vector<double> result(fitness);
  for (double& value : result) {
    if (!std::isfinite(value)) value = std::numeric_limits<double>::infinity();
  }
  return result;
}

/// Indices sorted by (fitness, index): equal fitness keeps the lower index first.
inline std::vector<int> ranking(const std::vector<double>& fitness) {
  std::vector<int> order(fitness.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return fitness[static_cast<std::size_t>(a)] < fitness[static_cast<std::size_t>(b)];
  });
  return order;
}

/// Keeps the best told genome: replaced only by a strictly better fitness (the first of equals wins).
inline void track_best(const std::vector<Genome>& population, const std::vector<double>& scores,
                       const std::vector<int>& order, std::optional<Genome>& best, double& best_fitness) {
  const auto leader = static_cast<std::size_t>(order.front());
  if (!best || scores[leader] < best_fitness) {
    best = population[leader];
    best_fitness = scores[leader];
  }
}

// The uint64 seed travels as an int64 entry with the same bits (HDF5 readers see a plain integer).
inline std::int64_t seed_bits(std::uint64_t seed) {
  std::int64_t bits = 0;
  std::memcpy(&bits, &seed, sizeof bits);
  return bits;
}

inline std::string entry_error(const StrategyState& state, std::string_view entry, const std::string& reason) {
  return "the checkpoint's " + state.strategy + " state entry '" + std::string(entry) + "' " + reason;
}

/// Throws StorageError naming the entry unless the stored integer equals the expected one.
inline void require_integer(const StrategyState& state, std::string_view entry, std::int64_t expected,
                            std::string_view what) {
  const std::int64_t stored = state.integer(entry);
  if (stored != expected) {
    throw StorageError(entry_error(state, entry, "is " + std::to_string(stored) + ", but " + std::string(what) +
                                                     " is " + std::to_string(expected)));
  }
}

/// Throws StorageError naming the entry unless the stored real equals the expected one exactly.
inline void require_real(const StrategyState& state, std::string_view entry, double expected, std::string_view what) {
  const double stored = state.real(entry);
  if (!(stored == expected)) {
    throw StorageError(entry_error(state, entry, "is " + text::format_number(stored) + ", but " + std::string(what) +
                                                     " is " + text::format_number(expected)));
  }
}

/// A stored real that must be finite and > 0.
inline double positive_real(const StrategyState& state, std::string_view entry) {
  const double value = state.real(entry);
  if (!(std::isfinite(value) && value > 0.0)) {
    throw StorageError(entry_error(state, entry, "is " + text::format_number(value) + ", expected finite and > 0"));
  }
  return value;
}

/// A stored vector of the given length whose entries are finite (and > 0 when positive).
inline Eigen::VectorXd finite_vector(const StrategyState& state, std::string_view entry, Eigen::Index length,
                                     bool positive) {
  Eigen::VectorXd values = state.real_vector(entry, length);
  for (Eigen::Index i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || (positive && !(values[i] > 0.0))) {
      throw StorageError(entry_error(state, entry,
                                     "has value " + text::format_number(values[i]) + " at index " + std::to_string(i) +
                                         (positive ? ", expected finite and > 0" : ", expected finite")));
    }
  }
  return values;
}

/// A stored vector of normalized coordinates: the given length, every entry in [0, 1].
inline Eigen::VectorXd unit_interval_vector(const StrategyState& state, std::string_view entry, Eigen::Index length) {
  Eigen::VectorXd values = finite_vector(state, entry, length, false);
  for (Eigen::Index i = 0; i < values.size(); ++i) {
    if (values[i] < 0.0 || values[i] > 1.0) {
      throw StorageError(entry_error(state, entry, "has value " + text::format_number(values[i]) + " at index " +
                                                       std::to_string(i) + ", outside [0, 1]"));
    }
  }
  return values;
}

/// The stored generation counter, which must not be negative.
inline std::int64_t stored_generation(const StrategyState& state) {
  const std::int64_t generation = state.integer("generation");
  if (generation < 0) throw StorageError(entry_error(state, "generation", "is negative: " + std::to_string(generation)));
  return generation;
}

/// Population genomes as stored: count x n, ids generation * count + index and generation set.
inline std::vector<Genome> stored_population(const StrategyState& state, Eigen::Index n, int count,
                                             std::int64_t generation) {
  std::vector<Genome> population = state.genomes("population", n, count);
  for (std::size_t k = 0; k < population.size(); ++k) {
    const Genome& genome = population[k];
    const std::int64_t id = generation * count + static_cast<std::int64_t>(k);
    if (genome.id != id || genome.generation != generation || genome.step_size.size() != n) {
      throw StorageError(entry_error(state, "population/id",
                                     "holds genome " + std::to_string(genome.id) + " of generation " +
                                         std::to_string(genome.generation) + " at index " + std::to_string(k) +
                                         ", expected genome " + std::to_string(id) + " of generation " +
                                         std::to_string(generation)));
    }
  }
  return population;
}

/// The best genome and its fitness as stored (has_best, best, best_fitness).
inline void stored_best(const StrategyState& state, Eigen::Index n, std::optional<Genome>& best,
                        double& best_fitness) {
  const std::int64_t has_best = state.integer("has_best");
  if (has_best != 0 && has_best != 1) {
    throw StorageError(entry_error(state, "has_best", "is " + std::to_string(has_best) + ", expected 0 or 1"));
  }
  best_fitness = state.real("best_fitness");
  best.reset();
  if (has_best == 1) best = state.genomes("best", n, 1).front();
}

inline void put_best(StrategyState& state, const std::optional<Genome>& best, double best_fitness) {
  state.put("has_best", std::int64_t{best ? 1 : 0});
  state.put("best_fitness", best_fitness);
  if (best) state.put_genomes("best", {*best});
}

}  // namespace metaevo::strategy_detail
