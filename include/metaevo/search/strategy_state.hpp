#pragma once
// A search strategy's whole state as plain named arrays: what a checkpoint stores (as HDF5 datasets
// and attributes that h5py can read) and what a strategy is rebuilt from on resume. No HDF5, MPI or
// Boost types: a strategy only fills and reads this; the run store does the I/O.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "metaevo/search/genome.hpp"

namespace metaevo {

/// An n-dimensional array, row-major: values.size() == product(shape). A scalar has shape {}.
template <class Value>
struct StateArray {
  std::vector<std::int64_t> shape;
  std::vector<Value> values;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & shape & values;
  }
};

struct StrategyState {
  std::string strategy;       // the registered name ("ga", "sep_cma_es", "openai_es")
  std::int64_t version = 1;   // of this strategy's layout; a loader refuses versions it does not know
  std::map<std::string, StateArray<double>, std::less<>> reals;
  std::map<std::string, StateArray<std::int64_t>, std::less<>> integers;

  // ---- writing ----
  void put(std::string_view name, double value);
  void put(std::string_view name, std::int64_t value);
  void put(std::string_view name, const Eigen::VectorXd& values);
  void put(std::string_view name, const std::vector<double>& values);
  void put(std::string_view name, const std::vector<std::int64_t>& values);
  /// Genomes as arrays NAME/x [count, n], NAME/step_size [count, m], NAME/id, NAME/generation,
  /// NAME/parent_a, NAME/parent_b [count]. All genomes must have the same lengths; no genomes give
  /// x and step_size of shape [0, 0].
  void put_genomes(std::string_view name, const std::vector<Genome>& genomes);

  // ---- reading: every getter checks presence and shape, and throws StorageError naming the
  // strategy, the entry, the expected and the stored shape ----
  double real(std::string_view name) const;
  std::int64_t integer(std::string_view name) const;
  /// A 1-D array; `expected_size` < 0 accepts any length.
  Eigen::VectorXd real_vector(std::string_view name, std::int64_t expected_size = -1) const;
  std::vector<double> real_values(std::string_view name, std::int64_t expected_size = -1) const;
  std::vector<std::int64_t> integer_values(std::string_view name, std::int64_t expected_size = -1) const;
  /// Genomes written by put_genomes; x must have `genes` columns, and when `expected_count` >= 0
  /// exactly that many rows.
  std::vector<Genome> genomes(std::string_view name, std::int64_t genes, std::int64_t expected_count = -1) const;
  bool has(std::string_view name) const;
  /// Throws StorageError unless strategy == expected_strategy and version is in [1, max_version].
  void require(std::string_view expected_strategy, std::int64_t max_version) const;

  // Archive-generic (islands send states over MPI); no Boost in this header.
  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & strategy & version & reals & integers;
  }
};

}  // namespace metaevo
