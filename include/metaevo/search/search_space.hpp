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

class SearchSpace {
 public:
  SearchSpace() = default;
  /// Validates every spec (names unique and non-empty, low < high, low > 0 for log_real, integer
  /// bounds integral, at least two choices for categorical) and throws ConfigError otherwise.
  explicit SearchSpace(std::vector<GeneSpec> genes);

  Eigen::Index size() const { return static_cast<Eigen::Index>(genes_.size()); }
  const std::vector<GeneSpec>& genes() const { return genes_; }
  const GeneSpec& gene(Eigen::Index i) const { return genes_.at(static_cast<std::size_t>(i)); }
  std::optional<Eigen::Index> index_of(std::string_view name) const;

  /// Typed value of gene i at normalized coordinate x (clamped to [0, 1]).
  GeneValue decode_gene(Eigen::Index i, double x) const;
  /// Normalized coordinate of a typed value; throws ConfigError if it is outside the gene's bounds.
  /// For integers and categoricals it returns the centre of the value's cell, so decode(encode(v)) == v.
  double encode_gene(Eigen::Index i, const GeneValue& value) const;

  ParameterSet decode(const Eigen::VectorXd& x) const;
  Eigen::VectorXd encode(const ParameterSet& values) const;

  /// Index of each gene's mutation group: genes with the same non-empty group share an index,
  /// a gene without a group gets its own. Indices are 0..group_count()-1 in order of first appearance.
  const std::vector<int>& group_of_gene() const { return group_of_gene_; }
  int group_count() const { return group_count_; }

 private:
  std::vector<GeneSpec> genes_;
  std::vector<int> group_of_gene_;
  int group_count_ = 0;
};

}  // namespace metaevo
