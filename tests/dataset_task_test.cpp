// The dataset family: reading HDF5 and CSV files, the checks on bad files, what a task seed picks
// (classes, rows, features, split, minibatches), what is scored, and the SHA-256 in the run file.
#include "metaevo/tasks/dataset.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/sha256.hpp"
#include "metaevo/store/run_store.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

/// Writes /X (rows x columns, row-major `x`, float64) and /y (int64 labels, or float64 targets).
void write_h5(const std::filesystem::path& path, hsize_t rows, hsize_t columns, const std::vector<double>& x,
              const std::vector<double>& y, bool integer_labels, long long classes_attribute = 0,
              const char* y_name = "y") {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t x_dims[2] = {rows, columns};
  hid_t space = H5Screate_simple(2, x_dims, nullptr);
  hid_t dataset = H5Dcreate2(file, "X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (!x.empty()) H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x.data());
  H5Dclose(dataset);
  H5Sclose(space);
  const hsize_t y_dims[1] = {y.size()};
  space = H5Screate_simple(1, y_dims, nullptr);
  dataset = H5Dcreate2(file, y_name, integer_labels ? H5T_STD_I64LE : H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
  if (!y.empty()) {
    if (integer_labels) {
      std::vector<long long> labels(y.begin(), y.end());
      H5Dwrite(dataset, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
    } else {
      H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, y.data());
    }
  }
  if (classes_attribute > 0) {
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(dataset, "classes", H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, H5T_NATIVE_LLONG, &classes_attribute);
    H5Aclose(attribute);
    H5Sclose(scalar);
  }
  H5Dclose(dataset);
  H5Sclose(space);
  H5Fclose(file);
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

/// A small classification set: `per_class[c]` rows of class c, 3 features that depend on the class.
struct ToyData {
  std::vector<double> x;
  std::vector<double> y;
  hsize_t rows = 0;
};
ToyData toy_classes(const std::vector<int>& per_class) {
  ToyData data;
  for (std::size_t label = 0; label < per_class.size(); ++label) {
    for (int i = 0; i < per_class[label]; ++i) {
      const double c = static_cast<double>(label);
      data.x.insert(data.x.end(), {c + 0.1 * i, std::sin(c + i), 2.0 * c - 0.05 * i});
      data.y.push_back(c);
      ++data.rows;
    }
  }
  return data;
}

std::unique_ptr<TaskFamily> dataset_family(const std::string& path, Options options = {}) {
  TaskConfig config;
  config.family = "dataset";
  config.options = std::move(options);
  config.options.set("path", path);
  return make_task_family(config);
}

/// The message of the ConfigError `action` throws ("" if none).
template <class Action>
std::string config_error(Action action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

void expect_bad_file(const std::filesystem::path& path, const std::string& problem, Options options = {}) {
  const std::string message = config_error([&] { dataset_family(path.string(), options); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << "expected \"" << problem << "\" in: " << message;
}

TEST(DatasetFile, Hdf5AndCsvReadTheSameData) {
  const TemporaryPath h5(".h5");
  const TemporaryPath csv(".csv");
  const ToyData toy = toy_classes({4, 5, 6});
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  // The CSV: a header row, the label first (label_column = 0).
  std::ostringstream text;
  text << "label, a, b, c\n";
  for (hsize_t row = 0; row < toy.rows; ++row) {
    text.precision(17);
    text << toy.y[row] << ", " << toy.x[3 * row] << "," << toy.x[3 * row + 1] << "," << toy.x[3 * row + 2] << "\n";
  }
  write_text(csv.path(), text.str());

  DatasetReadOptions csv_options;
  csv_options.label_column = 0;
  const Dataset from_h5 = read_dataset(h5.path(), {});
  const Dataset from_csv = read_dataset(csv.path(), csv_options);
  ASSERT_EQ(from_h5.rows(), 15);
  ASSERT_EQ(from_h5.feature_count(), 3);
  EXPECT_EQ(from_h5.classes, 3);
  EXPECT_EQ(from_h5.class_counts, (std::vector<Eigen::Index>{4, 5, 6}));
  EXPECT_EQ(from_h5.features, from_csv.features);
  EXPECT_EQ(from_h5.targets, from_csv.targets);
  EXPECT_EQ(from_h5.sha256, sha256_file(h5.path()));
  EXPECT_EQ(from_csv.sha256, sha256_file(csv.path()));
}

TEST(DatasetFile, IsReadOncePerProcess) {
  const TemporaryPath h5(".h5");
  const ToyData toy = toy_classes({3, 3});
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  EXPECT_EQ(shared_dataset(h5.path(), {}).get(), shared_dataset(h5.path(), {}).get());
  const auto family = dataset_family(h5.string());
  ASSERT_EQ(family->data_files().size(), 1u);
  EXPECT_EQ(family->data_files()[0].path, h5.string());
  EXPECT_EQ(family->data_files()[0].sha256, sha256_file(h5.path()));
}

TEST(DatasetFile, BadFilesFailWithAClearMessage) {
  const TemporaryPath h5(".h5");
  const TemporaryPath csv("_bad.csv");
  const ToyData toy = toy_classes({3, 3, 3});
  expect_bad_file(h5.path(), "does not exist");

  write_text(h5.path(), "");
  expect_bad_file(h5.path(), "is empty");
  write_text(h5.path(), "not hdf5 at all");
  expect_bad_file(h5.path(), "is not an HDF5 file");

  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true, 0, "labels");
  expect_bad_file(h5.path(), "has no dataset /y");

  std::vector<double> short_y(toy.y.begin(), toy.y.end() - 1);
  write_h5(h5.path(), toy.rows, 3, toy.x, short_y, true);
  expect_bad_file(h5.path(), "/X has 9 rows but /y has 8");

  write_h5(h5.path(), 0, 3, {}, {}, true);
  expect_bad_file(h5.path(), "is empty: /X has no rows");

  std::vector<double> nan_x = toy.x;
  nan_x[7] = std::numeric_limits<double>::quiet_NaN();
  write_h5(h5.path(), toy.rows, 3, nan_x, toy.y, true);
  expect_bad_file(h5.path(), "feature 1 of row 2 is nan");

  std::vector<double> inf_y = toy.y;
  inf_y[4] = std::numeric_limits<double>::infinity();
  write_h5(h5.path(), toy.rows, 3, toy.x, inf_y, false);
  expect_bad_file(h5.path(), "the target of row 4 is inf");

  std::vector<double> fractional = toy.y;
  fractional[2] = 0.5;
  write_h5(h5.path(), toy.rows, 3, toy.x, fractional, false);
  expect_bad_file(h5.path(), "the label of row 2 is 0.5");

  std::vector<double> negative = toy.y;
  negative[0] = -1.0;
  write_h5(h5.path(), toy.rows, 3, toy.x, negative, true);
  expect_bad_file(h5.path(), "the label of row 0 is -1");

  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true, 2);  // labels 0..2, but the file says 2 classes
  expect_bad_file(h5.path(), "label 2 is out of range");

  std::vector<double> gap = toy.y;
  for (double& label : gap) label = label == 1.0 ? 2.0 : label;
  write_h5(h5.path(), toy.rows, 3, toy.x, gap, true);
  expect_bad_file(h5.path(), "class 1 has no rows");

  write_text(csv.path(), "1,2,0\n3,x,1\n");
  expect_bad_file(csv.path(), "line 2, column 2: \"x\" is not a number");
  write_text(csv.path(), "1,2,0\n3,1\n");
  expect_bad_file(csv.path(), "line 2 has 2 fields");
  write_text(csv.path(), "a,b,label\n");
  expect_bad_file(csv.path(), "is empty: no data rows");
  write_text(csv.path(), "1,nan,0\n3,4,1\n");
  expect_bad_file(csv.path(), "feature 1 of row 0 is nan");

  // Too few rows for the split and the batch.
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  Options big_batch;
  big_batch.set("batch_size", std::int64_t{8});
  expect_bad_file(h5.path(), "batch_size must be at most the training rows of every task", big_batch);  // the path is named too
}

TEST(DatasetFile, FamilyChecksAgainstTheData) {
  const TemporaryPath h5(".h5");
  const ToyData toy = toy_classes({5, 5, 5});
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  Options too_many;
  too_many.set("classes", std::int64_t{4});
  EXPECT_NE(config_error([&] { dataset_family(h5.string(), too_many); }).find("classes must be 0 (all) or in [2, 3]"),
            std::string::npos);
  Options regression;
  regression.set("target", std::string("regression"));
  regression.set("classes", std::int64_t{2});
  EXPECT_NE(config_error([&] { dataset_family(h5.string(), regression); }).find("classes must be 0 for target"),
            std::string::npos);
  EXPECT_NE(config_error([&] { dataset_family(""); }).find("path must be a data file"), std::string::npos);
}

/// Regression on x = row index, y = row index, no standardization: at parameters 0 a row's loss is
/// 0.5 y^2, which tells which rows a task trains on and what loss() scores.
class RowIdentityData : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<double> x, y;
    for (int row = 0; row < rows; ++row) {
      x.push_back(row + 1.0);
      y.push_back(row + 1.0);
    }
    write_h5(file.path(), rows, 1, x, y, false);
    options.set("target", std::string("regression"));
    options.set("standardize", false);
    options.set("validation_fraction", 0.25);
  }
  static constexpr int rows = 40;
  TemporaryPath file{".h5"};
  Options options;
};

TEST_F(RowIdentityData, LossIsTheValidationSplitsLossAndTrainingNeverSeesIt) {
  const auto family = dataset_family(file.string(), options);
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto task = family->sample(seed);
    const auto* data_task = dynamic_cast<const DataTask*>(task.get());
    ASSERT_NE(data_task, nullptr);
    ASSERT_EQ(data_task->samples(), 30);  // 40 rows, 10 validated
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(task->dimension());
    Eigen::VectorXd gradient;
    std::set<int> training;
    for (Eigen::Index row = 0; row < data_task->samples(); ++row) {
      const Eigen::Index rows_list[] = {row};
      const double loss = data_task->subset_loss_and_gradient(rows_list, zero, gradient);
      training.insert(static_cast<int>(std::lround(std::sqrt(2.0 * loss))));
    }
    ASSERT_EQ(training.size(), 30u);
    double validation_total = 0.0;
    for (int value = 1; value <= rows; ++value) {
      if (!training.contains(value)) validation_total += 0.5 * value * value;
    }
    EXPECT_NEAR(task->loss(zero), validation_total / 10.0, 1e-9) << "seed " << seed;
    // The full training loss is the training rows' mean, a different number.
    double training_total = 0.0;
    for (int value : training) training_total += 0.5 * value * value;
    EXPECT_NEAR(task->loss_and_gradient(zero, gradient), training_total / 30.0, 1e-9);
  }
}

TEST_F(RowIdentityData, SplitMinibatchesAndStartAreDeterministicPerSeed) {
  options.set("batch_size", std::int64_t{7});
  options.set("rows", 0.5);  // 20 rows per task: 5 validated, 15 trained on
  const auto family = dataset_family(file.string(), options);
  const auto first = family->sample(42);
  const auto again = family->sample(42);
  const auto other = family->sample(43);
  EXPECT_EQ(dynamic_cast<const DataTask&>(*first).samples(), 15);
  const Eigen::VectorXd start = first->initial_parameters();
  EXPECT_EQ(start, again->initial_parameters());
  EXPECT_EQ(first->loss(start), again->loss(start));
  EXPECT_NE(first->loss(start), other->loss(start));
  Eigen::VectorXd g1, g2;
  for (int step = 0; step < 6; ++step) {  // the same minibatch sequence, across epochs
    EXPECT_EQ(first->loss_and_gradient(start, g1), again->loss_and_gradient(start, g2));
    EXPECT_EQ(g1, g2);
  }
}

TEST(DatasetTask, SubsetsOfClassesRowsAndFeatures) {
  const TemporaryPath h5(".h5");
  const ToyData toy = toy_classes({10, 20, 30, 40});
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  Options options;
  options.set("classes", std::int64_t{2});
  options.set("features", 0.67);  // 2 of 3 columns
  options.set("validation_fraction", 0.2);
  const auto family = dataset_family(h5.string(), options);
  std::set<Eigen::Index> sizes_seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto task = family->sample(seed);
    EXPECT_EQ(task->tensor_sizes(), (std::vector<Eigen::Index>{2 * 2, 2}));  // W: 2 outputs x 2 features, b
    const Eigen::Index training = dynamic_cast<const DataTask&>(*task).samples();
    sizes_seen.insert(training);
    // The rows of two of the classes, 20 % of them validated.
    bool matches_a_pair = false;
    for (int a : {10, 20, 30, 40}) {
      for (int b : {10, 20, 30, 40}) {
        if (a < b && training == (a + b) - std::max<Eigen::Index>(1, std::lround(0.2 * (a + b)))) matches_a_pair = true;
      }
    }
    EXPECT_TRUE(matches_a_pair) << training;
  }
  EXPECT_GT(sizes_seen.size(), 2u);  // different seeds pick different classes

  Options fewer_rows;
  fewer_rows.set("rows", 0.5);
  const auto half = dataset_family(h5.string(), fewer_rows)->sample(5);
  EXPECT_EQ(dynamic_cast<const DataTask&>(*half).samples(), 40);  // 50 rows, 10 validated
  EXPECT_EQ(half->tensor_sizes(), (std::vector<Eigen::Index>{4 * 3, 4}));
}

TEST(DatasetTask, GradientsMatchFiniteDifferences) {
  const TemporaryPath h5(".h5");
  const ToyData toy = toy_classes({6, 7, 8});
  write_h5(h5.path(), toy.rows, 3, toy.x, toy.y, true);
  for (const std::string model : {"linear", "mlp"}) {
    Options options;
    options.set("model", model);
    options.set("hidden_layers", std::vector<std::int64_t>{5});
    options.set("batch_size", std::int64_t{4});
    const auto task = dataset_family(h5.string(), options)->sample(9);
    const auto& data_task = dynamic_cast<const DataTask&>(*task);
    const std::vector<Eigen::Index> rows = {0, 3, 5, 5, 11};
    const Eigen::VectorXd x = task->initial_parameters() * 1.5;
    Eigen::VectorXd gradient, ignored;
    data_task.subset_loss_and_gradient(rows, x, gradient);
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      const double h = 1e-6;
      Eigen::VectorXd plus = x, minus = x;
      plus(i) += h;
      minus(i) -= h;
      const double numeric = (data_task.subset_loss_and_gradient(rows, plus, ignored) -
                              data_task.subset_loss_and_gradient(rows, minus, ignored)) / (2 * h);
      EXPECT_NEAR(gradient(i), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << model << " coordinate " << i;
    }
  }
}

TEST(DatasetConfig, RelativePathResolvesAgainstTheConfigsDirectoryAndBadFilesFailAtLoad) {
  const TemporaryPath directory("_dir");
  std::filesystem::create_directories(directory.path());
  const std::filesystem::path config = directory.path() / "run.toml";
  write_text(directory.path() / "data.csv", "0.5,1,0\n0.1,2,1\n0.3,3,0\n0.2,4,1\n0.9,5,0\n");
  const std::string text = R"([run]
seed = 1
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }
[[tasks]]
family = "dataset"
path = "data.csv"
validation_fraction = 0.4
)";
  write_text(config, text);
  const RunConfig loaded = load_config(config);
  const std::string path = (directory.path() / "data.csv").lexically_normal().string();
  EXPECT_EQ(loaded.tasks[0].options.string("path"), path);
  ASSERT_EQ(loaded.tasks[0].data_files.size(), 1u);
  EXPECT_EQ(loaded.tasks[0].data_files[0].sha256, sha256_file(path));

  write_text(directory.path() / "data.csv", "0.5,1,0\n0.1,2,7\n");
  const std::string message = config_error([&] { load_config(config); });
  EXPECT_NE(message.find("run.toml:9: tasks[0].path must be a valid data file: "), std::string::npos) << message;
  EXPECT_NE(message.find("data.csv: class 1 has no rows"), std::string::npos) << message;
  std::filesystem::remove_all(directory.path());
}

TEST(DatasetCli, RunStoresTheSha256AndCheckRejectsABadFile) {
  const TemporaryPath directory("_dir");
  std::filesystem::create_directories(directory.path());
  const ToyData toy = toy_classes({12, 12, 12});
  write_h5(directory.path() / "toy.h5", toy.rows, 3, toy.x, toy.y, true);
  const std::filesystem::path config = directory.path() / "run.toml";
  write_text(config, R"([run]
seed = 3
generations = 2
[ga]
population_size = 4
elite_count = 1
tournament_size = 2
[evaluation]
tasks_per_evaluation = 2
inner_steps = 10
holdout_tasks = 2
validation_tasks = 2
[update_rule]
family = "sgd"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }
[[tasks]]
family = "dataset"
path = "toy.h5"
classes = 2
batch_size = 8
)");
  const std::filesystem::path run_file = directory.path() / "run.h5";
  const auto result =
      run_command(std::string(METAEVO_CLI_PATH) + " run " + config.string() + " --out " + run_file.string() + " --quiet");
  ASSERT_EQ(result.exit_status, 0) << result.output;
  const RunFileContents contents = read_run_file(run_file);
  ASSERT_EQ(contents.data_files.size(), 1u);
  EXPECT_EQ(contents.data_files[0].path, (directory.path() / "toy.h5").lexically_normal().string());
  EXPECT_EQ(contents.data_files[0].sha256, sha256_file(directory.path() / "toy.h5"));
  const auto inspected = run_command(std::string(METAEVO_CLI_PATH) + " inspect " + run_file.string());
  EXPECT_NE(inspected.output.find(contents.data_files[0].sha256), std::string::npos) << inspected.output;

  // Resuming on other data would silently change the tasks: refused.
  std::vector<double> changed_x = toy.x;
  changed_x[1] += 0.25;
  write_h5(directory.path() / "toy.h5", toy.rows, 3, changed_x, toy.y, true);
  const auto resumed =
      run_command(std::string(METAEVO_CLI_PATH) + " resume " + run_file.string() + " --generations 3 --quiet");
  EXPECT_NE(resumed.exit_status, 0);
  EXPECT_NE(resumed.output.find("toy.h5 has changed since the run started"), std::string::npos) << resumed.output;

  std::vector<double> bad_x = toy.x;
  bad_x[0] = std::numeric_limits<double>::infinity();
  write_h5(directory.path() / "toy.h5", toy.rows, 3, bad_x, toy.y, true);
  const auto checked = run_command(std::string(METAEVO_CLI_PATH) + " check " + config.string());
  EXPECT_NE(checked.exit_status, 0);
  EXPECT_NE(checked.output.find("feature 0 of row 0 is inf"), std::string::npos) << checked.output;
  std::filesystem::remove_all(directory.path());
}

}  // namespace
}  // namespace metaevo
