#include "metaevo/search/search_space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

SearchSpace::SearchSpace(std::vector<GeneSpec> genes) : genes_(std::move(genes)) {
  std::set<std::string, std::less<>> names;
  for (const GeneSpec& gene : genes_) {
    if (gene.name.empty()) throw ConfigError("search space: every gene needs a non-empty name");
    if (!names.insert(gene.name).second) {
      throw ConfigError(gene_label(gene) + ": name appears twice in the search space");
    }
    validate_gene(gene);
  }
  // Group indices in order of first appearance; ungrouped genes each get their own.
  std::map<std::string, int, std::less<>> group_index;
  group_of_gene_.reserve(genes_.size());
  for (const GeneSpec& gene : genes_) {
    if (gene.group.empty()) {
      group_of_gene_.push_back(group_count_++);
      continue;
    }
    const auto [entry, inserted] = group_index.try_emplace(gene.group, group_count_);
    if (inserted) ++group_count_;
    group_of_gene_.push_back(entry->second);
  }
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
  for (Eigen::Index i = 0; i < size(); ++i) values.emplace(gene(i).name, decode_gene(i, x[i]));
  return values;
}

Eigen::VectorXd SearchSpace::encode(const ParameterSet& values) const {
  Eigen::VectorXd x(size());
  for (Eigen::Index i = 0; i < size(); ++i) {
    const auto found = values.find(gene(i).name);
    if (found == values.end()) throw ConfigError(gene_label(gene(i)) + ": no value given to encode");
    x[i] = encode_gene(i, found->second);
  }
  return x;
}

}  // namespace metaevo
