#include "metaevo/search/search_space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "metaevo/core/error.hpp"

namespace metaevo {

namespace {

/// Six significant digits, for people (the text of a gene value in reports and messages).
std::string readable_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string gene_label(const GeneSpec& gene) { return "gene \"" + gene.name + "\""; }

/// NaN goes to 0 so a broken coordinate still decodes to a valid value.
double clamp_unit(double x) {
  if (!(x >= 0.0)) return 0.0;
  return std::min(x, 1.0);
}

void validate_gene(const GeneSpec& gene) {
  const std::string label = gene_label(gene);
  switch (gene.kind) {
    case GeneKind::real:
    case GeneKind::log_real:
    case GeneKind::integer:
      if (!std::isfinite(gene.low) || !std::isfinite(gene.high) || !(gene.low < gene.high)) {
        throw ConfigError(label + ": low must be < high (both finite), got low = " +
                          readable_number(gene.low) + ", high = " + readable_number(gene.high));
      }
      break;
    case GeneKind::categorical:
      break;
  }
  if (gene.kind == GeneKind::log_real && !(gene.low > 0.0)) {
    throw ConfigError(label + ": log_real needs low > 0, got low = " + readable_number(gene.low));
  }
  if (gene.kind == GeneKind::integer &&
      (std::trunc(gene.low) != gene.low || std::trunc(gene.high) != gene.high)) {
    throw ConfigError(label + ": integer bounds must be integral, got low = " + readable_number(gene.low) +
                      ", high = " + readable_number(gene.high));
  }
  if (gene.kind == GeneKind::categorical) {
    if (gene.choices.size() < 2) {
      throw ConfigError(label + ": categorical needs at least 2 choices, got " +
                        std::to_string(gene.choices.size()));
    }
    std::set<std::string, std::less<>> seen;
    for (const std::string& choice : gene.choices) {
      if (!seen.insert(choice).second) {
        throw ConfigError(label + ": choice \"" + choice + "\" appears twice");
      }
    }
  }
}

std::string block_label(const GeneBlock& block) { return "gene block \"" + block.name + "\""; }

void validate_block(const GeneBlock& block) {
  const std::string label = block_label(block);
  if (block.name.empty() || block.name == "." || block.name.find('/') != std::string::npos) {
    throw ConfigError("gene block name '" + block.name + "' must be non-empty, without '/', and not \".\"");
  }
  if (block.length < 1 || block.length > max_block_length) {
    throw ConfigError(label + ": length must be in [1, " + std::to_string(max_block_length) + "], got " +
                      std::to_string(block.length));
  }
  if (!std::isfinite(block.low) || !std::isfinite(block.high) || !(block.low < block.high)) {
    throw ConfigError(label + ": low must be < high (both finite), got low = " + readable_number(block.low) +
                      ", high = " + readable_number(block.high));
  }
  if (!(block.initial_value >= block.low && block.initial_value <= block.high)) {
    throw ConfigError(label + ": initial_value must be in [low, high] = [" + readable_number(block.low) + ", " +
                      readable_number(block.high) + "], got " + readable_number(block.initial_value));
  }
  if (!(block.initial_scale > 0.0) || !std::isfinite(block.initial_scale)) {
    throw ConfigError(label + ": initial_scale must be > 0 and finite, got " + readable_number(block.initial_scale));
  }
}

/// Index of the categorical cell x falls in.
std::size_t choice_index(const GeneSpec& gene, double x) {
  const std::size_t count = gene.choices.size();
  const double scaled = std::floor(clamp_unit(x) * static_cast<double>(count));
  return std::min(static_cast<std::size_t>(scaled), count - 1);
}

}  // namespace

double numeric_parameter(const ParameterSet& parameters, std::string_view name) {
  const auto found = parameters.find(name);
  if (found == parameters.end()) {
    throw ConfigError("parameter \"" + std::string(name) + "\" is missing");
  }
  if (const auto* real = std::get_if<double>(&found->second)) return *real;
  if (const auto* integer = std::get_if<std::int64_t>(&found->second)) return static_cast<double>(*integer);
  throw ConfigError("parameter \"" + std::string(name) + "\" must be a number, got \"" +
                    std::get<std::string>(found->second) + "\"");
}

const std::string& choice_parameter(const ParameterSet& parameters, std::string_view name) {
  const auto found = parameters.find(name);
  if (found == parameters.end()) {
    throw ConfigError("parameter \"" + std::string(name) + "\" is missing");
  }
  if (const auto* choice = std::get_if<std::string>(&found->second)) return *choice;
  throw ConfigError("parameter \"" + std::string(name) + "\" must be a choice (string), got " +
                    format_gene_value(found->second));
}

std::string format_gene_value(const GeneValue& value) {
  if (const auto* real = std::get_if<double>(&value)) return readable_number(*real);
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return std::to_string(*integer);
  return std::get<std::string>(value);
}

SearchSpace::SearchSpace(std::vector<GeneSpec> genes, std::vector<GeneBlock> blocks)
    : genes_(std::move(genes)), blocks_(std::move(blocks)) {
  std::set<std::string, std::less<>> names;
  for (const GeneSpec& gene : genes_) {
    if (gene.name.empty()) throw ConfigError("search space: every gene needs a non-empty name");
    if (gene.name == "." || gene.name.find('/') != std::string::npos) {
      throw ConfigError(gene_label(gene) + ": a gene name cannot contain '/' or be \".\" (it names an HDF5 dataset)");
    }
    if (!names.insert(gene.name).second) {
      throw ConfigError(gene_label(gene) + ": name appears twice in the search space");
    }
    validate_gene(gene);
  }
  size_ = scalar_count();
  for (const GeneBlock& block : blocks_) {
    validate_block(block);
    if (!names.insert(block.name).second) {
      throw ConfigError(block_label(block) + ": name appears twice in the search space");
    }
    if (size_ > max_search_space_size - block.length) {
      throw ConfigError(block_label(block) + ": the search space would have more than " +
                        std::to_string(max_search_space_size) + " coordinates");
    }
    block_offsets_.push_back(size_);
    size_ += static_cast<Eigen::Index>(block.length);
  }
  // Group indices in order of first appearance; ungrouped genes each get their own; a block is one group.
  std::map<std::string, int, std::less<>> group_index;
  group_of_gene_.reserve(static_cast<std::size_t>(size_));
  for (const GeneSpec& gene : genes_) {
    if (gene.group.empty()) {
      group_of_gene_.push_back(group_count_++);
      continue;
    }
    const auto [entry, inserted] = group_index.try_emplace(gene.group, group_count_);
    if (inserted) ++group_count_;
    group_of_gene_.push_back(entry->second);
  }
  for (const GeneBlock& block : blocks_) {
    const int group = group_count_++;
    group_of_gene_.insert(group_of_gene_.end(), static_cast<std::size_t>(block.length), group);
  }
}

std::optional<std::size_t> SearchSpace::block_index_of(std::string_view name) const {
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    if (blocks_[b].name == name) return b;
  }
  return std::nullopt;
}

std::string SearchSpace::coordinate_name(Eigen::Index i) const {
  if (i < scalar_count()) return gene(i).name;
  for (std::size_t b = blocks_.size(); b-- > 0;) {
    if (i >= block_offsets_[b]) return blocks_[b].name + "[" + std::to_string(i - block_offsets_[b]) + "]";
  }
  return "coordinate " + std::to_string(i);
}

void SearchSpace::decode_block(const Eigen::VectorXd& x, std::size_t b, Eigen::VectorXd& values) const {
  const GeneBlock& block = blocks_.at(b);
  if (x.size() != size()) {
    throw Error("SearchSpace::decode_block: genome has " + std::to_string(x.size()) +
                " coordinates, the space has " + std::to_string(size()));
  }
  const auto length = static_cast<Eigen::Index>(block.length);
  values.resize(length);
  const Eigen::Index offset = block_offsets_[b];
  const double width = block.high - block.low;
  for (Eigen::Index j = 0; j < length; ++j) values[j] = block.low + width * clamp_unit(x[offset + j]);
}

Eigen::VectorXd SearchSpace::initial_point() const {
  Eigen::VectorXd x = Eigen::VectorXd::Constant(size(), 0.5);
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const GeneBlock& block = blocks_[b];
    x.segment(block_offsets_[b], static_cast<Eigen::Index>(block.length))
        .setConstant((block.initial_value - block.low) / (block.high - block.low));
  }
  return x;
}

Eigen::VectorXd SearchSpace::initial_spread(double scalar_spread) const {
  Eigen::VectorXd spread = Eigen::VectorXd::Constant(size(), scalar_spread);
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const GeneBlock& block = blocks_[b];
    spread.segment(block_offsets_[b], static_cast<Eigen::Index>(block.length))
        .setConstant(block.initial_scale / (block.high - block.low));
  }
  return spread;
}

std::optional<Eigen::Index> SearchSpace::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < genes_.size(); ++i) {
    if (genes_[i].name == name) return static_cast<Eigen::Index>(i);
  }
  return std::nullopt;
}

GeneValue SearchSpace::decode_gene(Eigen::Index i, double x) const {
  const GeneSpec& spec = gene(i);
  const double unit = clamp_unit(x);
  switch (spec.kind) {
    case GeneKind::real:
      // Exact bounds at the ends, so encode/decode of low and high round-trip bit for bit.
      if (unit <= 0.0) return spec.low;
      if (unit >= 1.0) return spec.high;
      return spec.low + unit * (spec.high - spec.low);
    case GeneKind::log_real: {
      if (unit <= 0.0) return spec.low;
      if (unit >= 1.0) return spec.high;
      const double log_low = std::log(spec.low);
      return std::exp(log_low + unit * (std::log(spec.high) - log_low));
    }
    case GeneKind::integer:
      return static_cast<std::int64_t>(std::llround(spec.low + unit * (spec.high - spec.low)));
    case GeneKind::categorical:
      return spec.choices[choice_index(spec, unit)];
  }
  throw Error("decode_gene: unknown gene kind");
}

double SearchSpace::encode_gene(Eigen::Index i, const GeneValue& value) const {
  const GeneSpec& spec = gene(i);
  const std::string label = gene_label(spec);
  if (spec.kind == GeneKind::categorical) {
    const auto* choice = std::get_if<std::string>(&value);
    if (choice == nullptr) {
      throw ConfigError(label + ": expected one of its choices, got " + format_gene_value(value));
    }
    const auto found = std::find(spec.choices.begin(), spec.choices.end(), *choice);
    if (found == spec.choices.end()) {
      throw ConfigError(label + ": \"" + *choice + "\" is not one of its choices");
    }
    const auto index = static_cast<double>(found - spec.choices.begin());
    return (index + 0.5) / static_cast<double>(spec.choices.size());
  }

  double number = 0.0;
  if (const auto* real = std::get_if<double>(&value)) {
    number = *real;
  } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    number = static_cast<double>(*integer);
  } else {
    throw ConfigError(label + ": expected a number, got \"" + std::get<std::string>(value) + "\"");
  }
  if (!(number >= spec.low && number <= spec.high)) {
    throw ConfigError(label + ": value must be in [" + readable_number(spec.low) + ", " +
                      readable_number(spec.high) + "], got " + format_gene_value(value));
  }
  if (spec.kind == GeneKind::integer && std::trunc(number) != number) {
    throw ConfigError(label + ": integer gene needs an integral value, got " + format_gene_value(value));
  }
  if (number == spec.low) return 0.0;
  if (number == spec.high) return 1.0;
  double unit = 0.0;
  if (spec.kind == GeneKind::log_real) {
    const double log_low = std::log(spec.low);
    unit = (std::log(number) - log_low) / (std::log(spec.high) - log_low);
  } else {
    // real and integer: an integer's cell under rounding is centred on (v - low) / (high - low).
    unit = (number - spec.low) / (spec.high - spec.low);
  }
  return clamp_unit(unit);
}

ParameterSet SearchSpace::decode(const Eigen::VectorXd& x) const {
  if (x.size() != size()) {
    throw Error("SearchSpace::decode: genome has " + std::to_string(x.size()) + " coordinates, the space has " +
                std::to_string(size()) + " genes");
  }
  ParameterSet values;
  for (Eigen::Index i = 0; i < scalar_count(); ++i) values.emplace(gene(i).name, decode_gene(i, x[i]));
  return values;
}

Eigen::VectorXd SearchSpace::encode(const ParameterSet& values) const {
  Eigen::VectorXd x = initial_point();
  for (Eigen::Index i = 0; i < scalar_count(); ++i) {
    const auto found = values.find(gene(i).name);
    if (found == values.end()) throw ConfigError(gene_label(gene(i)) + ": no value given to encode");
    x[i] = encode_gene(i, found->second);
  }
  return x;
}

}  // namespace metaevo
