#include "metaevo/store/evaluation_store.hpp"

#include <string>
#include <system_error>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/store/run_store.hpp"
#include "store/durable_file.hpp"
#include "store/hdf5_handle.hpp"
#include "store/hdf5_io.hpp"

namespace metaevo {
namespace {

using namespace h5io;

const std::string group_name = "evaluation";
constexpr std::string_view group_format = "metaevo-evaluation";
// Not the run's own working copy (RUN.h5.partial): a leftover of either never hides the other.
constexpr std::string_view staged_suffix = ".evaluation.partial";

std::filesystem::path staged_path_of(const std::filesystem::path& run_file) {
  return std::filesystem::path(run_file.string() + std::string(staged_suffix));
}

template <class Value>
std::vector<Value> flattened(const std::vector<std::vector<Value>>& rows, std::size_t width) {
  std::vector<Value> values;
  values.reserve(rows.size() * width);
  for (const std::vector<Value>& row : rows) {
    if (row.size() != width)
      throw StorageError("a row of " + std::to_string(row.size()) + " values, expected " + std::to_string(width));
    values.insert(values.end(), row.begin(), row.end());
  }
  return values;
}

template <class Value>
std::vector<std::vector<Value>> unflattened(const std::vector<Value>& values, const std::vector<hsize_t>& dims) {
  std::vector<std::vector<Value>> rows;
  const auto width = static_cast<std::size_t>(dims[1]);
  for (std::size_t r = 0; r < dims[0]; ++r) {
    rows.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(r * width),
                      values.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
  }
  return rows;
}

void write_doubles(hid_t group, const std::string& name, const std::vector<hsize_t>& dims,
                   const std::vector<double>& values) {
  write_array_dataset(group, name, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values.data());
}

void write_group(hid_t group, const HeldOutEvaluation& evaluation) {
  const hsize_t c = evaluation.contender_count();
  const hsize_t b = c - 1;
  const auto n = static_cast<hsize_t>(evaluation.task_count);
  const hsize_t g = evaluation.learning_rate_grid.size();
  const hsize_t rows = evaluation.task_family_names.size() + 1;  // per family, then all tasks
  if (evaluation.final_losses.size() != c || evaluation.outcomes.size() != c || evaluation.tuning_fitness.size() != b ||
      evaluation.task_seeds.size() != n || evaluation.task_families.size() != n ||
      evaluation.learning_curves.size() != c * n * evaluation.curve_length() ||
      evaluation.median_final_loss.size() != rows || evaluation.win_rates.size() != rows ||
      evaluation.summary_task_counts.size() != rows) {
    throw StorageError("the evaluation's arrays do not match its " + std::to_string(c) + " contenders and " +
                       std::to_string(n) + " tasks");
  }
  write_string_attribute(group, "format", std::string(group_format));
  write_int64_attribute(group, "version", evaluation_group_version);
  write_uint64_attribute(group, "run_seed", evaluation.run_seed);
  write_string_attribute(group, "evolved_family", evaluation.evolved_family);
  write_int64_attribute(group, "evolved_genome_id", evaluation.evolved_genome_id);
  write_int64_attribute(group, "evolved_generation", evaluation.evolved_generation);
  write_int64_attribute(group, "inner_steps", evaluation.inner_steps);
  write_int64_attribute(group, "tuning_inner_steps", evaluation.tuning_inner_steps);
  write_int64_attribute(group, "tuning_tasks", evaluation.tuning_tasks);
  write_int64_attribute(group, "task_count", evaluation.task_count);
  write_int64_attribute(group, "tuning_purpose", static_cast<std::int64_t>(StreamPurpose::baseline_tuning));
  write_int64_attribute(group, "evaluation_purpose", static_cast<std::int64_t>(StreamPurpose::evaluation_task));
  write_double_attribute(group, "interval_z", wilson_z95);
  write_double_attribute(group, "tie_tolerance", default_tie_tolerance);
  write_string_attribute(group, "held_out_source", evaluation.held_out_source);
  write_string_attribute(group, "held_out_toml", evaluation.held_out_toml);

  write_string_vector_dataset(group, "contenders", evaluation.contenders);
  write_string_vector_dataset(group, "contender_families", evaluation.contender_families);
  write_doubles(group, "learning_rate", {c}, evaluation.learning_rates);
  write_doubles(group, "learning_rate_grid", {g}, evaluation.learning_rate_grid);
  write_doubles(group, "tuning_fitness", {b, g}, flattened(evaluation.tuning_fitness, g));
  write_string_vector_dataset(group, "task_family_names", evaluation.task_family_names);
  const std::vector<std::int64_t> families(evaluation.task_families.begin(), evaluation.task_families.end());
  write_array_dataset(group, "task_family", {n}, H5T_STD_I64LE, H5T_NATIVE_INT64, families.data());
  write_array_dataset(group, "task_seed", {n}, H5T_STD_U64LE, H5T_NATIVE_UINT64, evaluation.task_seeds.data());
  write_doubles(group, "final_loss", {c, n}, flattened(evaluation.final_losses, n));
  const std::vector<std::uint8_t> outcomes = flattened(evaluation.outcomes, n);
  write_array_dataset(group, "outcome", {c, n}, H5T_STD_U8LE, H5T_NATIVE_UINT8, outcomes.data());
  write_doubles(group, "learning_curves", {c, n, evaluation.curve_length()}, evaluation.learning_curves);

  const std::vector<std::int64_t> counts(evaluation.summary_task_counts.begin(), evaluation.summary_task_counts.end());
  write_array_dataset(group, "summary_task_count", {rows}, H5T_STD_I64LE, H5T_NATIVE_INT64, counts.data());
  write_doubles(group, "median_final_loss", {rows, c}, flattened(evaluation.median_final_loss, c));
  std::vector<double> wins, rate, low, high;
  for (const std::vector<WinRate>& row : evaluation.win_rates) {
    if (row.size() != b) throw StorageError("win rates against " + std::to_string(row.size()) + " baselines");
    for (const WinRate& win : row) {
      wins.push_back(win.wins);
      rate.push_back(win.rate);
      low.push_back(win.interval.low);
      high.push_back(win.interval.high);
    }
  }
  write_doubles(group, "wins", {rows, b}, wins);
  write_doubles(group, "win_rate", {rows, b}, rate);
  write_doubles(group, "win_rate_low", {rows, b}, low);
  write_doubles(group, "win_rate_high", {rows, b}, high);
}

void expect_dims(const std::string& name, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& expected) {
  if (dims != expected) {
    throw StorageError("/evaluation/" + name + " has shape " + shape_text(dims) + ", expected " + shape_text(expected));
  }
}

}  // namespace

void write_evaluation(const std::filesystem::path& run_file, const HeldOutEvaluation& evaluation) {
  h5::ErrorPrintingSilencer silence;
  const std::filesystem::path staged = staged_path_of(run_file);
  try {
    read_run_file(run_file, /*with_population_genes=*/false);  // a metaevo run of this schema, or a clear error
    {
      // A fresh root: the run's attributes and every group but the old /evaluation copied over, then
      // the new group. Rewriting the old file in place would leave the old group's space behind.
      const h5::File source = h5::h5f_open(run_file.string(), H5F_ACC_RDONLY);
      h5::File file = h5::h5f_create(staged.string(), H5F_ACC_TRUNC);
      for (const std::string& attribute : h5::h5a_iterate_names(source.id(), "/")) {
        copy_attribute(source.id(), file.id(), attribute);
      }
      for (const std::string& item : h5::h5l_iterate_names(source.id(), "/")) {
        if (item != group_name) h5::h5o_copy(source.id(), item, file.id(), item);
      }
      {
        const h5::Group group = h5::h5g_create2(file.id(), group_name);
        write_group(group.id(), evaluation);
      }
      file.close();  // everything is in the staged file (a failed close throws)
    }
    durable::replace_with(staged, run_file);
  } catch (const StorageError& error) {
    std::error_code ignored;
    std::filesystem::remove(staged, ignored);
    throw StorageError("cannot store the evaluation in run file '" + run_file.string() + "': " + error.what());
  }
}

HeldOutEvaluation read_evaluation(const std::filesystem::path& run_file) {
  h5::ErrorPrintingSilencer silence;
  HeldOutEvaluation evaluation;
  try {
    if (!h5::h5f_is_hdf5(run_file.string())) throw StorageError("not an HDF5 file");
    const h5::File file = h5::h5f_open(run_file.string(), H5F_ACC_RDONLY);
    if (!h5::h5l_exists(file.id(), group_name)) throw StorageError("it has no /evaluation (run `metaevo evaluate`)");
    const h5::Group opened = h5::h5g_open2(file.id(), group_name);
    const hid_t group = opened.id();
    if (read_string_attribute(group, "format") != group_format) throw StorageError("/evaluation is not an evaluation");
    const std::int64_t version = read_int64_attribute(group, "version");
    if (version != evaluation_group_version) {
      throw StorageError("/evaluation has version " + std::to_string(version) + ", this metaevo reads version " +
                         std::to_string(evaluation_group_version));
    }
    evaluation.run_seed = read_uint64_attribute(group, "run_seed");
    evaluation.evolved_family = read_string_attribute(group, "evolved_family");
    evaluation.evolved_genome_id = read_int64_attribute(group, "evolved_genome_id");
    evaluation.evolved_generation = read_int64_attribute(group, "evolved_generation");
    evaluation.inner_steps = read_int64_attribute(group, "inner_steps");
    evaluation.tuning_inner_steps = read_int64_attribute(group, "tuning_inner_steps");
    evaluation.tuning_tasks = static_cast<int>(read_int64_attribute(group, "tuning_tasks"));
    evaluation.task_count = static_cast<int>(read_int64_attribute(group, "task_count"));
    evaluation.held_out_source = read_string_attribute(group, "held_out_source");
    evaluation.held_out_toml = read_string_attribute(group, "held_out_toml");

    evaluation.contenders = read_string_vector_dataset(group, "contenders");
    evaluation.contender_families = read_string_vector_dataset(group, "contender_families");
    evaluation.task_family_names = read_string_vector_dataset(group, "task_family_names");
    const hsize_t c = evaluation.contenders.size();
    const auto n = static_cast<hsize_t>(evaluation.task_count);
    const hsize_t rows = evaluation.task_family_names.size() + 1;
    if (c < 2) throw StorageError("/evaluation/contenders has " + std::to_string(c) + " entries, expected >= 2");
    std::vector<hsize_t> dims;
    evaluation.learning_rates = read_double_array_dataset(group, "learning_rate", 1, dims);
    expect_dims("learning_rate", dims, {c});
    evaluation.learning_rate_grid = read_double_array_dataset(group, "learning_rate_grid", 1, dims);
    const hsize_t g = dims[0];
    evaluation.tuning_fitness = unflattened(read_double_array_dataset(group, "tuning_fitness", 2, dims), dims);
    expect_dims("tuning_fitness", dims, {c - 1, g});
    for (const std::int64_t family : read_int64_array_dataset(group, "task_family", 1, dims)) {
      if (family < 0 || static_cast<hsize_t>(family) + 1 >= rows) {
        throw StorageError("/evaluation/task_family holds " + std::to_string(family) + ", not a family index");
      }
      evaluation.task_families.push_back(static_cast<std::int32_t>(family));
    }
    expect_dims("task_family", dims, {n});
    evaluation.task_seeds = read_uint64_array_dataset(group, "task_seed", 1, dims);
    expect_dims("task_seed", dims, {n});
    evaluation.final_losses = unflattened(read_double_array_dataset(group, "final_loss", 2, dims), dims);
    expect_dims("final_loss", dims, {c, n});
    std::vector<std::uint8_t> outcomes;
    for (const std::int64_t outcome : read_int64_array_dataset(group, "outcome", 2, dims)) {
      outcomes.push_back(static_cast<std::uint8_t>(outcome));
    }
    expect_dims("outcome", dims, {c, n});
    evaluation.outcomes = unflattened(outcomes, dims);
    evaluation.learning_curves = read_double_array_dataset(group, "learning_curves", 3, dims);
    expect_dims("learning_curves", dims, {c, n, evaluation.curve_length()});

    for (const std::int64_t count : read_int64_array_dataset(group, "summary_task_count", 1, dims)) {
      evaluation.summary_task_counts.push_back(static_cast<int>(count));
    }
    expect_dims("summary_task_count", dims, {rows});
    evaluation.median_final_loss = unflattened(read_double_array_dataset(group, "median_final_loss", 2, dims), dims);
    expect_dims("median_final_loss", dims, {rows, c});
    const std::vector<double> wins = read_double_array_dataset(group, "wins", 2, dims);
    expect_dims("wins", dims, {rows, c - 1});
    const std::vector<double> rate = read_double_array_dataset(group, "win_rate", 2, dims);
    expect_dims("win_rate", dims, {rows, c - 1});
    const std::vector<double> low = read_double_array_dataset(group, "win_rate_low", 2, dims);
    expect_dims("win_rate_low", dims, {rows, c - 1});
    const std::vector<double> high = read_double_array_dataset(group, "win_rate_high", 2, dims);
    expect_dims("win_rate_high", dims, {rows, c - 1});
    for (hsize_t r = 0; r < rows; ++r) {
      std::vector<WinRate> row;
      for (hsize_t b = 0; b + 1 < c; ++b) {
        const std::size_t at = r * (c - 1) + b;
        row.push_back(WinRate{wins[at], static_cast<std::size_t>(evaluation.summary_task_counts[r]), rate[at],
                              Interval{low[at], high[at]}});
      }
      evaluation.win_rates.push_back(std::move(row));
    }
  } catch (const StorageError& error) {
    throw StorageError("cannot read the evaluation of run file '" + run_file.string() + "': " + error.what());
  }
  return evaluation;
}

}  // namespace metaevo
