#pragma once
// The genes a search runs over and the map between their normalized coordinates and typed values.
#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "metaevo/core/enum_names.hpp"

namespace metaevo {

enum class GeneKind { real, log_real, integer, categorical };
template <>
struct EnumNames<GeneKind> {
  static constexpr std::array<EnumName<GeneKind>, 4> table{{
      {GeneKind::real, "real"},
      {GeneKind::log_real, "log_real"},
      {GeneKind::integer, "integer"},
      {GeneKind::categorical, "categorical"},
  }};
};

/// One searched quantity. Every gene lives in [0, 1] in normalized coordinates:
///  - real:        value = low + x (high - low)
///  - log_real:    value = exp(log low + x (log high - log low)), low > 0
///  - integer:     value = round(low + x (high - low)), bounds inclusive
///  - categorical: value = choices[min(floor(x k), k - 1)] for k choices
struct GeneSpec {
  std::string name;
  GeneKind kind = GeneKind::real;
  double low = 0.0;
  double high = 1.0;
  std::vector<std::string> choices;  // categorical only
  /// Genes of one group share a self-adaptive mutation step size (when the GA adapts per group).
  std::string group;
};

/// A block of real genes, e.g. the weights of a learned update rule: `length` coordinates with the
/// same bounds, stored as one dataset in the run file and decoded into one Eigen vector (no name per
/// element). A rule family declares its blocks from its own options (the length follows its
/// architecture). Value of coordinate j at normalized x: low + x (high - low).
struct GeneBlock {
  std::string name;
  std::int64_t length = 0;       // >= 1
  double low = -1.0;             // low < high, both finite
  double high = 1.0;
  double initial_value = 0.0;    // centre of the initial population / a strategy's initial mean, in [low, high]
  double initial_scale = 0.1;    // std dev of the initial spread around it, in value units, > 0
  std::string description;       // one line for `metaevo check`
};

/// A decoded gene value: double for real/log_real, int64 for integer, string for categorical.
using GeneValue = std::variant<double, std::int64_t, std::string>;
/// Named typed values, e.g. the hyperparameters of an update rule (genes merged with fixed values).
using ParameterSet = std::map<std::string, GeneValue, std::less<>>;

/// Reads a numeric parameter (double or integer) or throws ConfigError naming it.
double numeric_parameter(const ParameterSet& parameters, std::string_view name);
/// Reads a categorical parameter or throws ConfigError naming it.
const std::string& choice_parameter(const ParameterSet& parameters, std::string_view name);
/// "1e-3", "7", "cosine": for summaries and logs.
std::string format_gene_value(const GeneValue& value);

/// Limits that keep a typo from allocating gigabytes per genome (checked by the constructor).
inline constexpr std::int64_t max_block_length = 10'000'000;
inline constexpr std::int64_t max_search_space_size = 10'000'000;
/// Sizes a search can hold in memory, checked before anything is allocated (docs/configuration.md,
/// "Limits"): genomes per generation, and genomes x coordinates (each coordinate is a value and a
/// step size, 16 bytes: 1.6 GB at the limit).
inline constexpr std::int64_t max_population_size = 1'000'000;
inline constexpr std::int64_t max_population_values = 100'000'000;

/// The normalized coordinates of a genome: the named scalar genes first (in order), then each block's
/// coordinates contiguously (in order). size() counts all coordinates.
class SearchSpace {
 public:
  SearchSpace() = default;
  /// Validates every spec (names unique across genes and blocks and storable as HDF5 names: non-empty,
  /// no '/', not "."; low < high, low > 0 for log_real, integer bounds integral, at least two choices
  /// for categorical; a block's length in [1, max_block_length], finite low < high, initial_value in
  /// [low, high], initial_scale > 0 and finite) and throws ConfigError otherwise.
  explicit SearchSpace(std::vector<GeneSpec> genes, std::vector<GeneBlock> blocks = {});

  /// All coordinates: scalar genes plus every block's length.
  Eigen::Index size() const { return size_; }
  /// The named scalar genes; gene(i) and decode_gene(i) take i < scalar_count().
  Eigen::Index scalar_count() const { return static_cast<Eigen::Index>(genes_.size()); }
  const std::vector<GeneSpec>& genes() const { return genes_; }
  const GeneSpec& gene(Eigen::Index i) const { return genes_.at(static_cast<std::size_t>(i)); }
  std::optional<Eigen::Index> index_of(std::string_view name) const;

  const std::vector<GeneBlock>& blocks() const { return blocks_; }
  /// First coordinate of block b.
  Eigen::Index block_offset(std::size_t b) const { return block_offsets_.at(b); }
  std::optional<std::size_t> block_index_of(std::string_view name) const;
  /// Whether coordinate i is a categorical scalar gene (the GA mutates those by jumps).
  bool is_categorical(Eigen::Index i) const {
    return i < scalar_count() && genes_[static_cast<std::size_t>(i)].kind == GeneKind::categorical;
  }
  /// "learning_rate", or "weights[17]" for a block coordinate: for messages.
  std::string coordinate_name(Eigen::Index i) const;

  /// Typed value of gene i at normalized coordinate x (clamped to [0, 1]).
  GeneValue decode_gene(Eigen::Index i, double x) const;
  /// Normalized coordinate of a typed value; throws ConfigError if it is outside the gene's bounds.
  /// For integers and categoricals it returns the centre of the value's cell, so decode(encode(v)) == v.
  double encode_gene(Eigen::Index i, const GeneValue& value) const;

  /// The scalar genes' values (x has size() coordinates; block coordinates are not in the map).
  ParameterSet decode(const Eigen::VectorXd& x) const;
  /// Normalized coordinates of the scalar genes' values; block coordinates at their initial_value.
  Eigen::VectorXd encode(const ParameterSet& values) const;
  /// Block b's values, low + x (high - low) per coordinate (x clamped to [0, 1]), written into `values`
  /// (resized once; no allocation when it already has the block's length).
  void decode_block(const Eigen::VectorXd& x, std::size_t b, Eigen::VectorXd& values) const;

  /// Where a search starts: scalar genes at the centre (0.5), block coordinates at their initial_value.
  Eigen::VectorXd initial_point() const;
  /// The initial spread around it, per coordinate in normalized units: `scalar_spread` for scalar
  /// genes, initial_scale / (high - low) for block coordinates.
  Eigen::VectorXd initial_spread(double scalar_spread) const;

  /// Index of each coordinate's mutation group: scalar genes with the same non-empty group share an
  /// index, a scalar gene without a group gets its own, and each block is one group (named after it).
  /// Indices are 0..group_count()-1 in order of first appearance.
  const std::vector<int>& group_of_gene() const { return group_of_gene_; }
  int group_count() const { return group_count_; }

 private:
  std::vector<GeneSpec> genes_;
  std::vector<GeneBlock> blocks_;
  std::vector<Eigen::Index> block_offsets_;
  Eigen::Index size_ = 0;
  std::vector<int> group_of_gene_;
  int group_count_ = 0;
};

}  // namespace metaevo
