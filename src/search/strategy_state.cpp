#include "metaevo/search/strategy_state.hpp"

#include <numeric>

#include "metaevo/core/error.hpp"

namespace metaevo {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

template <class Value>
StateArray<Value> vector_array(const std::vector<Value>& values) {
  return {{static_cast<std::int64_t>(values.size())}, values};
}

template <class Value>
StateArray<Value> matrix_array(std::int64_t rows, std::int64_t columns, std::vector<Value> values) {
  return {{rows, columns}, std::move(values)};
}

}  // namespace

void StrategyState::put(std::string_view name, double value) { reals[std::string(name)] = {{}, {value}}; }
void StrategyState::put(std::string_view name, std::int64_t value) { integers[std::string(name)] = {{}, {value}}; }
void StrategyState::put(std::string_view name, const Eigen::VectorXd& values) {
  put(name, std::vector<double>(values.data(), values.data() + values.size()));
}
void StrategyState::put(std::string_view name, const std::vector<double>& values) {
  reals[std::string(name)] = vector_array(values);
}
void StrategyState::put(std::string_view name, const std::vector<std::int64_t>& values) {
  integers[std::string(name)] = vector_array(values);
}

void StrategyState::put_genomes(std::string_view name, const std::vector<Genome>& genomes) {
  const auto count = static_cast<std::int64_t>(genomes.size());
  const std::int64_t genes = genomes.empty() ? 0 : genomes.front().x.size();
  const std::int64_t steps = genomes.empty() ? 0 : genomes.front().step_size.size();
  std::vector<double> x, step_size;
  x.reserve(static_cast<std::size_t>(count * genes));
  step_size.reserve(static_cast<std::size_t>(count * steps));
  std::vector<std::int64_t> id, generation, parent_a, parent_b;
  for (const Genome& genome : genomes) {
    if (genome.x.size() != genes || genome.step_size.size() != steps) {
      throw Error("strategy state '" + std::string(name) + "': genomes of different lengths");
    }
    x.insert(x.end(), genome.x.data(), genome.x.data() + genes);
    step_size.insert(step_size.end(), genome.step_size.data(), genome.step_size.data() + steps);
    id.push_back(genome.id);
    generation.push_back(genome.generation);
    parent_a.push_back(genome.parent_a);
    parent_b.push_back(genome.parent_b);
  }
  const std::string prefix = std::string(name) + "/";
  reals[prefix + "x"] = matrix_array(count, genes, std::move(x));
  reals[prefix + "step_size"] = matrix_array(count, steps, std::move(step_size));
  put(prefix + "id", id);
  put(prefix + "generation", generation);
  put(prefix + "parent_a", parent_a);
  put(prefix + "parent_b", parent_b);
}

namespace {

template <class Value, class Map>
const StateArray<Value>& find_array(const StrategyState& state, const Map& map, std::string_view name,
                                    std::string_view kind) {
  const auto found = map.find(name);
  if (found == map.end()) {
    throw StorageError("the checkpoint's " + state.strategy + " state has no " + std::string(kind) + " entry '" +
                       std::string(name) + "'");
  }
  const StateArray<Value>& array = found->second;
  std::int64_t product = 1;
  for (std::int64_t extent : array.shape) {
    if (extent < 0) product = -1;
    if (product >= 0) product *= extent;
  }
  if (product < 0 || static_cast<std::size_t>(product) != array.values.size()) {
    throw StorageError("the checkpoint's " + state.strategy + " state entry '" + std::string(name) + "' has shape " +
                       shape_text(array.shape) + " but " + std::to_string(array.values.size()) + " values");
  }
  return array;
}

template <class Value>
void require_shape(const StrategyState& state, std::string_view name, const StateArray<Value>& array,
                   const std::vector<std::int64_t>& expected) {
  bool ok = array.shape.size() == expected.size();
  for (std::size_t i = 0; ok && i < expected.size(); ++i) ok = expected[i] < 0 || expected[i] == array.shape[i];
  if (!ok) {
    std::vector<std::int64_t> shown = expected;
    throw StorageError("the checkpoint's " + state.strategy + " state entry '" + std::string(name) + "' has shape " +
                       shape_text(array.shape) + ", expected " + shape_text(shown) + " (-1: any)");
  }
}

}  // namespace

double StrategyState::real(std::string_view name) const {
  const auto& array = find_array<double>(*this, reals, name, "real");
  require_shape(*this, name, array, {});
  return array.values.front();
}

std::int64_t StrategyState::integer(std::string_view name) const {
  const auto& array = find_array<std::int64_t>(*this, integers, name, "integer");
  require_shape(*this, name, array, {});
  return array.values.front();
}

std::vector<double> StrategyState::real_values(std::string_view name, std::int64_t expected_size) const {
  const auto& array = find_array<double>(*this, reals, name, "real");
  require_shape(*this, name, array, {expected_size});
  return array.values;
}

Eigen::VectorXd StrategyState::real_vector(std::string_view name, std::int64_t expected_size) const {
  const auto& array = find_array<double>(*this, reals, name, "real");
  require_shape(*this, name, array, {expected_size});
  return Eigen::Map<const Eigen::VectorXd>(array.values.data(), static_cast<Eigen::Index>(array.values.size()));
}

std::vector<std::int64_t> StrategyState::integer_values(std::string_view name, std::int64_t expected_size) const {
  const auto& array = find_array<std::int64_t>(*this, integers, name, "integer");
  require_shape(*this, name, array, {expected_size});
  return array.values;
}

std::vector<Genome> StrategyState::genomes(std::string_view name, std::int64_t genes,
                                           std::int64_t expected_count) const {
  const std::string prefix = std::string(name) + "/";
  const auto& x = find_array<double>(*this, reals, prefix + "x", "real");
  // No genomes are written as [0, 0]: put_genomes has no genome to take the length from.
  const bool none = x.shape.size() == 2 && x.shape[0] == 0;
  require_shape(*this, prefix + "x", x, {expected_count, none ? -1 : genes});
  const std::int64_t count = x.shape[0];
  const auto& step_size = find_array<double>(*this, reals, prefix + "step_size", "real");
  require_shape(*this, prefix + "step_size", step_size, {count, -1});
  const std::int64_t steps = step_size.shape[1];
  const auto id = integer_values(prefix + "id", count);
  const auto generation = integer_values(prefix + "generation", count);
  const auto parent_a = integer_values(prefix + "parent_a", count);
  const auto parent_b = integer_values(prefix + "parent_b", count);
  std::vector<Genome> result(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    Genome& genome = result[static_cast<std::size_t>(i)];
    const auto row = static_cast<std::size_t>(i);
    genome.id = id[row];
    genome.generation = generation[row];
    genome.parent_a = parent_a[row];
    genome.parent_b = parent_b[row];
    genome.x = Eigen::Map<const Eigen::VectorXd>(x.values.data() + row * static_cast<std::size_t>(genes), genes);
    genome.step_size =
        Eigen::Map<const Eigen::VectorXd>(step_size.values.data() + row * static_cast<std::size_t>(steps), steps);
  }
  return result;
}

bool StrategyState::has(std::string_view name) const {
  return reals.find(name) != reals.end() || integers.find(name) != integers.end();
}

void StrategyState::require(std::string_view expected_strategy, std::int64_t max_version) const {
  if (strategy != expected_strategy) {
    throw StorageError("the checkpoint holds the state of strategy '" + strategy + "', the run uses '" +
                       std::string(expected_strategy) + "'");
  }
  if (version < 1 || version > max_version) {
    throw StorageError("the checkpoint's " + strategy + " state has layout version " + std::to_string(version) +
                       "; this metaevo reads versions 1 to " + std::to_string(max_version));
  }
}

}  // namespace metaevo
