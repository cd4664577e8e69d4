// The dataset family: a linear model or an MLP trained on a data file's rows. The file is read once
// (shared_dataset) when the family is built; each task seed picks its classes, rows, features, train /
// validation split and start, and is scored on its validation split (docs/datasets.md).
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "metaevo/core/error.hpp"
#include "metaevo/tasks/dataset.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo::task_detail {

namespace {

enum class DatasetModel { linear, mlp };

}  // namespace
}  // namespace metaevo::task_detail

namespace metaevo {
template <>
struct EnumNames<task_detail::DatasetModel> {
  static constexpr std::array<EnumName<task_detail::DatasetModel>, 2> table{{
      {task_detail::DatasetModel::linear, "linear"},
      {task_detail::DatasetModel::mlp, "mlp"},
  }};
};
}  // namespace metaevo

namespace metaevo::task_detail {

namespace {

/// The family's options, read once.
struct DatasetFamilySpec {
  std::string path;
  DatasetReadOptions read;
  DatasetModel model = DatasetModel::linear;
  std::vector<Eigen::Index> hidden_layers;
  Activation activation = Activation::tanh;
  int classes = 0;                    // per task, 0 = all of the file's
  double rows = 1.0;                  // fraction of the (chosen classes') rows a task uses
  double features = 1.0;              // fraction of the feature columns a task uses
  double validation_fraction = 0.2;   // of a task's rows, scored and never trained on
  Eigen::Index batch_size = 0;        // training rows per step, 0 = the whole training split
  bool standardize = true;
  double initial_scale = 1.0;
};

Eigen::Index rounded_share(double fraction, Eigen::Index count) {
  return static_cast<Eigen::Index>(std::llround(fraction * static_cast<double>(count)));
}

/// How many rows a task of `pool` candidate rows uses, and how many of them it validates on.
struct RowCounts {
  Eigen::Index used = 0;
  Eigen::Index validation = 0;
  Eigen::Index training() const { return used - validation; }
};
RowCounts row_counts(const DatasetFamilySpec& spec, Eigen::Index pool) {
  RowCounts counts;
  counts.used = std::clamp<Eigen::Index>(rounded_share(spec.rows, pool), 1, pool);
  counts.validation = std::max<Eigen::Index>(1, rounded_share(spec.validation_fraction, counts.used));
  return counts;
}

/// The first `count` entries of a Fisher-Yates shuffle of `items`, drawn from `stream` (count draws).
template <class Item>
std::vector<Item> draw_without_replacement(std::vector<Item> items, std::size_t count, RandomStream& stream) {
  for (std::size_t i = 0; i < count; ++i) std::swap(items[i], items[i + stream.below(items.size() - i)]);
  items.resize(count);
  return items;
}

class DatasetFamily final : public TaskFamily {
 public:
  explicit DatasetFamily(DatasetFamilySpec spec)
      : spec_(std::move(spec)), data_(read_data(spec_)) {
    check_against_data();
  }

  std::string_view name() const override { return "dataset"; }
  std::vector<DataFileRecord> data_files() const override { return {{spec_.path, data_->sha256}}; }

  std::unique_ptr<Task> sample(std::uint64_t seed) const override {
    RandomStream stream(seed);
    const bool classification = data_->target == DatasetTarget::classification;

    // 1. The classes (classification with classes = k > 0): k of C, relabelled 0..k-1 in label order.
    std::vector<Eigen::Index> new_label(static_cast<std::size_t>(std::max(data_->classes, 0)), -1);
    Eigen::Index outputs = classification ? data_->classes : 1;
    if (classification) {
      std::vector<Eigen::Index> chosen(new_label.size());
      std::iota(chosen.begin(), chosen.end(), Eigen::Index{0});
      if (spec_.classes > 0) {
        chosen = draw_without_replacement(std::move(chosen), static_cast<std::size_t>(spec_.classes), stream);
        std::sort(chosen.begin(), chosen.end());
        outputs = spec_.classes;
      }
      for (std::size_t i = 0; i < chosen.size(); ++i) new_label[static_cast<std::size_t>(chosen[i])] = static_cast<Eigen::Index>(i);
    }
    std::vector<Eigen::Index> pool;
    for (Eigen::Index row = 0; row < data_->rows(); ++row) {
      if (!classification || new_label[static_cast<std::size_t>(data_->targets(row))] >= 0) pool.push_back(row);
    }

    // 2. The rows: one shuffle of the pool; its first `validation` rows are scored, the next trained on.
    const RowCounts counts = row_counts(spec_, static_cast<Eigen::Index>(pool.size()));
    const std::vector<Eigen::Index> rows =
        draw_without_replacement(std::move(pool), static_cast<std::size_t>(counts.used), stream);

    // 3. The feature columns, in file order.
    std::vector<Eigen::Index> columns(static_cast<std::size_t>(data_->feature_count()));
    std::iota(columns.begin(), columns.end(), Eigen::Index{0});
    const Eigen::Index feature_count = std::clamp<Eigen::Index>(rounded_share(spec_.features, data_->feature_count()), 1,
                                                                data_->feature_count());
    if (feature_count < data_->feature_count()) {
      columns = draw_without_replacement(std::move(columns), static_cast<std::size_t>(feature_count), stream);
      std::sort(columns.begin(), columns.end());
    }

    const auto gather = [&](std::size_t first, std::size_t count) {
      NetworkData set;
      set.inputs.resize(feature_count, static_cast<Eigen::Index>(count));
      if (classification) {
        set.labels.resize(count);
      } else {
        set.targets.resize(1, static_cast<Eigen::Index>(count));
      }
      for (std::size_t i = 0; i < count; ++i) {
        const Eigen::Index row = rows[first + i];
        const auto sample = static_cast<Eigen::Index>(i);
        for (std::size_t c = 0; c < columns.size(); ++c) {
          set.inputs(static_cast<Eigen::Index>(c), sample) = data_->features(row, columns[c]);
        }
        if (classification) {
          set.labels[i] = new_label[static_cast<std::size_t>(data_->targets(row))];
        } else {
          set.targets(0, sample) = data_->targets(row);
        }
      }
      return set;
    };
    NetworkData validation = gather(0, static_cast<std::size_t>(counts.validation));
    NetworkData training = gather(static_cast<std::size_t>(counts.validation), static_cast<std::size_t>(counts.training()));
    if (spec_.standardize) standardize(training, validation);

    // 4. The start.
    NetworkArchitecture architecture;
    architecture.layer_sizes.push_back(feature_count);
    if (spec_.model == DatasetModel::mlp) {
      architecture.layer_sizes.insert(architecture.layer_sizes.end(), spec_.hidden_layers.begin(), spec_.hidden_layers.end());
    }
    architecture.layer_sizes.push_back(outputs);
    architecture.activation = spec_.activation;
    Eigen::VectorXd initial = draw_initial_network_parameters(architecture, spec_.initial_scale, stream);
    return make_network_task(architecture, std::move(training), std::move(validation), std::move(initial),
                             spec_.batch_size, seed);
  }

 private:
  /// Each feature to mean 0 and standard deviation 1 over the training split (a constant one is only
  /// centred); the validation split gets the same shift and scale, so it leaks nothing into training.
  static void standardize(NetworkData& training, NetworkData& validation) {
    const auto count = static_cast<double>(training.inputs.cols());
    for (Eigen::Index feature = 0; feature < training.inputs.rows(); ++feature) {
      const double mean = training.inputs.row(feature).sum() / count;
      const double variance = (training.inputs.row(feature).array() - mean).square().sum() / count;
      const double scale = variance > 1e-24 ? 1.0 / std::sqrt(variance) : 1.0;
      training.inputs.row(feature) = (training.inputs.row(feature).array() - mean) * scale;
      validation.inputs.row(feature) = (validation.inputs.row(feature).array() - mean) * scale;
    }
  }

  /// "path must be a valid data file: FILE: problem", which the config reader reports at the line
  /// of path as "tasks[i].path must be ...".
  static std::shared_ptr<const Dataset> read_data(const DatasetFamilySpec& spec) {
    try {
      return shared_dataset(spec.path, spec.read);
    } catch (const ConfigError& error) {
      std::string problem = error.what();
      const std::string_view reader_prefix = "data file ";
      if (problem.starts_with(reader_prefix)) problem.erase(0, reader_prefix.size());
      throw ConfigError("path must be a valid data file: " + problem);
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw ConfigError("task family 'dataset': " + message);
  }

  /// The checks that need the data: every task must have a validation row and enough training rows
  /// for a batch. With a class subset the fewest rows a task can get come from the k smallest classes.
  void check_against_data() const {
    const bool classification = data_->target == DatasetTarget::classification;
    if (!classification && spec_.classes > 0) {
      fail("classes must be 0 for target = \"regression\" (it picks classes per task), got " +
           std::to_string(spec_.classes));
    }
    if (classification && spec_.classes > data_->classes) {
      fail("classes must be 0 (all) or in [2, " + std::to_string(data_->classes) + "] (the classes of " + spec_.path +
           "), got " + std::to_string(spec_.classes));
    }
    Eigen::Index fewest = data_->rows();
    if (classification && spec_.classes > 0) {
      std::vector<Eigen::Index> counts = data_->class_counts;
      std::sort(counts.begin(), counts.end());
      fewest = std::accumulate(counts.begin(), counts.begin() + spec_.classes, Eigen::Index{0});
    }
    const RowCounts counts = row_counts(spec_, fewest);
    const std::string smallest_task = "the smallest task trains on " + std::to_string(counts.training()) + " of its " +
                                      std::to_string(counts.used) + " rows (" + spec_.path + " has " +
                                      std::to_string(data_->rows()) + ")";
    if (counts.training() < 1) {
      fail("validation_fraction must leave every task a training row: " + smallest_task + ", got " +
           std::to_string(spec_.validation_fraction));
    }
    if (counts.training() < spec_.batch_size) {
      fail("batch_size must be at most the training rows of every task: " + smallest_task + ", got " +
           std::to_string(spec_.batch_size));
    }
  }

  DatasetFamilySpec spec_;
  std::shared_ptr<const Dataset> data_;  // shared with every family on the same file
};

template <NamedEnum Enum>
Enum read_choice(const Options& options, std::string_view key) {
  return *from_string<Enum>(options.string(key));  // the schema allows only the enum's names
}

std::unique_ptr<TaskFamily> make_dataset_family(const Options& options) {
  DatasetFamilySpec spec;
  spec.path = options.string("path");
  if (spec.path.empty()) throw ConfigError("path must be a data file (HDF5 or .csv), got \"\"");
  spec.read.format = read_choice<DatasetFormat>(options, "format");
  spec.read.target = read_choice<DatasetTarget>(options, "target");
  spec.read.features_name = options.string("features_dataset");
  spec.read.targets_name = options.string("targets_dataset");
  spec.read.label_column = static_cast<int>(options.integer("label_column"));
  spec.model = read_choice<DatasetModel>(options, "model");
  for (std::int64_t width : options.integer_list("hidden_layers")) spec.hidden_layers.push_back(width);
  spec.activation = read_choice<Activation>(options, "activation");
  spec.classes = static_cast<int>(options.integer("classes"));
  if (spec.classes == 1) throw ConfigError("classes must be 0 (all) or >= 2, got 1");
  spec.rows = options.real("rows");
  spec.features = options.real("features");
  spec.validation_fraction = options.real("validation_fraction");
  spec.batch_size = options.integer("batch_size");
  spec.standardize = options.boolean("standardize");
  spec.initial_scale = options.real("initial_scale");
  return std::make_unique<DatasetFamily>(std::move(spec));
}

}  // namespace

void register_dataset_family(Registry<TaskFamilyRegistration>& registry) {
  using namespace limits;
  TaskFamilyRegistration registration;
  registration.name = "dataset";
  registration.help = "a linear model or MLP trained on a data file (HDF5 or CSV), scored on a validation split";
  registration.options = OptionSchema(std::vector<OptionSpec>{
      file_path_option("path", "the data file: HDF5 (/X, /y) or .csv; relative to the config's directory"),
      choice_option("format", "auto", enum_names<DatasetFormat>(), "auto: .csv is CSV, anything else HDF5"),
      choice_option("target", "classification", enum_names<DatasetTarget>(),
                    "integer labels 0..C-1 (softmax cross-entropy) or real targets (squared error)"),
      choice_option("features_dataset", "X", {}, "HDF5: the features, rows x features"),
      choice_option("targets_dataset", "y", {}, "HDF5: the targets, one per row"),
      integer_option("label_column", -1, NumericRange::closed(-1, 1000000), "CSV: the target's column (0-based), -1 = last"),
      choice_option("model", "linear", enum_names<DatasetModel>(), "linear (no hidden layer) or mlp"),
      integer_list_option("hidden_layers", {32}, 1, 2, NumericRange::closed(1, max_hidden_width),
                          "mlp: widths of the 1 or 2 hidden layers"),
      choice_option("activation", "tanh", enum_names<Activation>(), "mlp: hidden nonlinearity"),
      integer_option("classes", 0, NumericRange::closed(0, max_classes),
                     "classification: classes per task, chosen per task and relabelled; 0 = all"),
      real_option("rows", 1.0, NumericRange::make(0.0, true, 1.0, false), "fraction of the rows a task uses"),
      real_option("features", 1.0, NumericRange::make(0.0, true, 1.0, false),
                  "fraction of the feature columns a task uses"),
      real_option("validation_fraction", 0.2, NumericRange::make(0.0, true, 1.0, true),
                  "fraction of a task's rows held out and scored (the task's loss)"),
      integer_option("batch_size", 0, NumericRange::closed(0, max_samples),
                     "training rows per step, in shuffled epochs; 0 = the whole training split"),
      boolean_option("standardize", true, "scale each feature to mean 0, std 1 over the task's training rows"),
      initial_scale_option("multiplies the Glorot (tanh) or He (relu) initial weights"),
  });
  registration.make = make_dataset_family;
  registry.add(std::move(registration));
}

}  // namespace metaevo::task_detail
