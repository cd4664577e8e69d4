// Reading and checking the data files of the dataset family: HDF5 (/X, /y) or CSV.
#include "metaevo/tasks/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>

#include "metaevo/core/error.hpp"
#include "metaevo/core/sha256.hpp"
#include "store/hdf5_handle.hpp"
#include "store/hdf5_io.hpp"

namespace metaevo {

namespace {

/// Every message starts with the file, so a config naming several files says which one is bad.
class FileProblem {
 public:
  explicit FileProblem(const std::filesystem::path& path) : prefix_("data file " + path.string() + ": ") {}
  [[noreturn]] void fail(const std::string& problem) const { throw ConfigError(prefix_ + problem); }

 private:
  std::string prefix_;
};

std::string number_text(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

/// Values (features and targets) a data file may hold: 2 GiB of doubles.
constexpr double max_data_file_values = 268435456.0;  // 2^28

bool is_numeric_class(H5T_class_t type_class) { return type_class == H5T_INTEGER || type_class == H5T_FLOAT; }

/// Opens dataset `name`, checks it is numeric, and returns its shape.
std::vector<hsize_t> numeric_dataset_shape(hid_t file, const std::string& name, const FileProblem& problem) {
  if (!h5::h5l_exists(file, name)) problem.fail("has no dataset /" + name + " (see docs/datasets.md for the layout)");
  const h5::Dataset dataset = h5::h5d_open2(file, name);
  const h5::Datatype type = h5::h5d_get_type(dataset.id(), name);
  if (!is_numeric_class(h5::h5t_get_class(type.id(), name))) {
    problem.fail("dataset /" + name + " must hold numbers (integers or floats)");
  }
  const h5::Dataspace space = h5::h5d_get_space(dataset.id(), name);
  return h5::h5s_get_simple_extent_dims(space.id(), name);
}

/// A shape the loader would allocate for must be one the file can hold: at most max_data_file_values
/// values, and an unfiltered dataset (contiguous or compact, what h5py and most tools write) must
/// store every byte of it. Else a few corrupt bytes claiming 10^12 rows would allocate terabytes.
void check_stored_size(hid_t file, const std::string& name, const std::vector<hsize_t>& shape,
                       const FileProblem& problem) {
  double values = 1.0;
  for (const hsize_t extent : shape) values *= static_cast<double>(extent);
  if (values > max_data_file_values) {
    problem.fail("dataset /" + name + " has shape " + h5io::shape_text(shape) + ": more than " +
                 std::to_string(static_cast<std::uint64_t>(max_data_file_values)) + " values");
  }
  const h5::Dataset dataset = h5::h5d_open2(file, name);
  const h5::Datatype type = h5::h5d_get_type(dataset.id(), name);
  const hid_t properties = H5Dget_create_plist(dataset.id());
  if (properties < 0) return;  // the read reports what is wrong
  const H5D_layout_t layout = H5Pget_layout(properties);
  const int filters = H5Pget_nfilters(properties);
  H5Pclose(properties);
  if (filters != 0 || (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT)) return;
  const double needed = values * static_cast<double>(h5::h5t_get_size(type.id(), name));
  const auto stored = static_cast<double>(H5Dget_storage_size(dataset.id()));
  if (stored < needed) {
    problem.fail("dataset /" + name + " has shape " + h5io::shape_text(shape) + " (" +
                 std::to_string(static_cast<std::uint64_t>(needed)) + " bytes) but stores only " +
                 std::to_string(static_cast<std::uint64_t>(stored)) + " bytes (a truncated or corrupt file)");
  }
}

void read_hdf5(const std::filesystem::path& path, const DatasetReadOptions& options, Dataset& data,
               std::optional<std::int64_t>& declared_classes) {
  const FileProblem problem(path);
  const h5::ErrorPrintingSilencer silencer;
  if (!h5::h5f_is_hdf5(path.string())) problem.fail("is not an HDF5 file (a CSV needs the extension .csv or format = \"csv\")");
  const h5::File file = h5::h5f_open(path.string(), H5F_ACC_RDONLY);

  const std::vector<hsize_t> x_shape = numeric_dataset_shape(file.id(), options.features_name, problem);
  if (x_shape.size() != 2) {
    problem.fail("/" + options.features_name + " must be 2-dimensional (rows x features), got shape " +
                 h5io::shape_text(x_shape));
  }
  const std::vector<hsize_t> y_shape = numeric_dataset_shape(file.id(), options.targets_name, problem);
  if (!(y_shape.size() == 1 || (y_shape.size() == 2 && y_shape[1] == 1))) {
    problem.fail("/" + options.targets_name + " must be 1-dimensional (one target per row), got shape " +
                 h5io::shape_text(y_shape));
  }
  if (x_shape[0] != y_shape[0]) {
    problem.fail("/" + options.features_name + " has " + std::to_string(x_shape[0]) + " rows but /" +
                 options.targets_name + " has " + std::to_string(y_shape[0]));
  }
  if (x_shape[0] == 0) problem.fail("is empty: /" + options.features_name + " has no rows");
  if (x_shape[1] == 0) problem.fail("is empty: /" + options.features_name + " has no feature columns");

  check_stored_size(file.id(), options.features_name, x_shape, problem);
  check_stored_size(file.id(), options.targets_name, y_shape, problem);

  std::vector<hsize_t> dims;
  const std::vector<double> x_values = h5io::read_double_array_dataset(file.id(), options.features_name, 2, dims);
  const std::vector<double> y_values =
      h5io::read_double_array_dataset(file.id(), options.targets_name, y_shape.size(), dims);
  const auto rows = static_cast<Eigen::Index>(x_shape[0]);
  const auto columns = static_cast<Eigen::Index>(x_shape[1]);
  data.features = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      x_values.data(), rows, columns);
  data.targets = Eigen::Map<const Eigen::VectorXd>(y_values.data(), rows);

  const h5::Dataset y = h5::h5d_open2(file.id(), options.targets_name);
  if (h5::h5a_exists(y.id(), "classes")) declared_classes = h5io::read_int64_attribute(y.id(), "classes");
}

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(trimmed(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

bool parse_number(std::string_view field, double& value) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error == std::errc() && end == field.data() + field.size() && !field.empty();
}

void read_csv(const std::filesystem::path& path, const DatasetReadOptions& options, Dataset& data) {
  const FileProblem problem(path);
  std::ifstream file(path, std::ios::binary);
  if (!file) problem.fail("cannot be read");
  std::vector<double> values;  // row-major, label column included
  std::size_t columns = 0;
  std::size_t rows = 0;
  std::string line;
  for (std::size_t line_number = 1; std::getline(file, line); ++line_number) {
    if (trimmed(line).empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    const bool first = columns == 0;
    if (first) columns = fields.size();
    if (fields.size() != columns) {
      problem.fail("line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                   " fields, the first line " + std::to_string(columns));
    }
    std::vector<double> parsed(fields.size());
    bool all_numbers = true;
    std::size_t bad_field = 0;
    for (std::size_t i = 0; i < fields.size() && all_numbers; ++i) {
      all_numbers = parse_number(fields[i], parsed[i]);
      bad_field = i;
    }
    if (!all_numbers) {
      if (first) continue;  // a header row: the first line may name the columns
      problem.fail("line " + std::to_string(line_number) + ", column " + std::to_string(bad_field + 1) + ": \"" +
                   std::string(fields[bad_field]) + "\" is not a number");
    }
    values.insert(values.end(), parsed.begin(), parsed.end());
    ++rows;
  }
  if (file.bad()) problem.fail("read failed");
  if (rows == 0) problem.fail("is empty: no data rows");
  if (columns < 2) problem.fail("needs at least 2 columns (features and the label), got " + std::to_string(columns));
  const auto label_column = options.label_column < 0 ? columns - 1 : static_cast<std::size_t>(options.label_column);
  if (label_column >= columns) {
    problem.fail("label_column " + std::to_string(options.label_column) + " is outside its " +
                 std::to_string(columns) + " columns");
  }
  data.features.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(columns - 1));
  data.targets.resize(static_cast<Eigen::Index>(rows));
  for (std::size_t row = 0; row < rows; ++row) {
    Eigen::Index feature = 0;
    for (std::size_t column = 0; column < columns; ++column) {
      const double value = values[row * columns + column];
      if (column == label_column) {
        data.targets(static_cast<Eigen::Index>(row)) = value;
      } else {
        data.features(static_cast<Eigen::Index>(row), feature++) = value;
      }
    }
  }
}

/// The checks that do not depend on the format.
void check_values(const DatasetReadOptions& options, std::optional<std::int64_t> declared_classes, Dataset& data) {
  const FileProblem problem(data.path);
  for (Eigen::Index column = 0; column < data.features.cols(); ++column) {
    for (Eigen::Index row = 0; row < data.features.rows(); ++row) {
      if (!std::isfinite(data.features(row, column))) {
        problem.fail("feature " + std::to_string(column) + " of row " + std::to_string(row) + " is " +
                     number_text(data.features(row, column)) + " (every value must be finite)");
      }
    }
  }
  for (Eigen::Index row = 0; row < data.targets.size(); ++row) {
    if (!std::isfinite(data.targets(row))) {
      problem.fail("the target of row " + std::to_string(row) + " is " + number_text(data.targets(row)) +
                   " (every value must be finite)");
    }
  }
  if (options.target == DatasetTarget::regression) return;

  double largest = 0.0;
  for (Eigen::Index row = 0; row < data.targets.size(); ++row) {
    const double label = data.targets(row);
    if (label < 0.0 || label != std::floor(label)) {
      problem.fail("the label of row " + std::to_string(row) + " is " + number_text(label) +
                   ": classification labels must be integers 0..C-1 (target = \"regression\" for real targets)");
    }
    largest = std::max(largest, label);
  }
  constexpr std::int64_t max_classes = 1000;
  if (declared_classes && (*declared_classes < 2 || *declared_classes > max_classes)) {
    problem.fail("the attribute classes must be in [2, 1000], got " + std::to_string(*declared_classes));
  }
  if (!declared_classes && largest >= static_cast<double>(max_classes)) {  // (and before a cast that would overflow)
    problem.fail("label " + number_text(largest) +
                 " is out of range: at most 1000 classes are allowed (labels 0..999)");
  }
  const std::int64_t classes = declared_classes ? *declared_classes : static_cast<std::int64_t>(largest) + 1;
  if (largest >= static_cast<double>(classes)) {
    problem.fail("label " + number_text(largest) + " is out of range: the attribute classes says " +
                 std::to_string(classes) + " classes (labels 0.." + std::to_string(classes - 1) + ")");
  }
  if (classes < 2) problem.fail("every label is 0: classification needs at least 2 classes");
  if (classes > max_classes) problem.fail("has " + std::to_string(classes) + " classes, at most 1000 are allowed");
  data.classes = static_cast<int>(classes);
  data.class_counts.assign(static_cast<std::size_t>(classes), 0);
  for (Eigen::Index row = 0; row < data.targets.size(); ++row) {
    ++data.class_counts[static_cast<std::size_t>(data.targets(row))];
  }
  for (std::size_t label = 0; label < data.class_counts.size(); ++label) {
    if (data.class_counts[label] == 0) {
      problem.fail("class " + std::to_string(label) + " has no rows (labels must cover 0.." +
                   std::to_string(classes - 1) + ")");
    }
  }
}

bool is_csv(const std::filesystem::path& path, DatasetFormat format) {
  if (format != DatasetFormat::automatic) return format == DatasetFormat::csv;
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".csv";
}

}  // namespace

Dataset read_dataset(const std::filesystem::path& path, const DatasetReadOptions& options) {
  const FileProblem problem(path);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) problem.fail("does not exist");
  if (!std::filesystem::is_regular_file(path, error)) problem.fail("is not a regular file");
  if (std::filesystem::file_size(path, error) == 0) problem.fail("is empty (0 bytes)");

  Dataset data;
  data.path = path;
  data.target = options.target;
  data.sha256 = sha256_file(path);
  std::optional<std::int64_t> declared_classes;
  try {
    if (is_csv(path, options.format)) {
      read_csv(path, options, data);
    } else {
      read_hdf5(path, options, data, declared_classes);
    }
  } catch (const StorageError& storage) {  // the HDF5 layer's own failures, e.g. a truncated file
    problem.fail(std::string("cannot be read as HDF5: ") + storage.what());
  }
  check_values(options, declared_classes, data);
  return data;
}

std::shared_ptr<const Dataset> shared_dataset(const std::filesystem::path& path, const DatasetReadOptions& options) {
  // The key changes when the file does (size or modification time), so a rewritten file is read again.
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  std::ostringstream key;
  key << absolute.string() << '\n' << std::filesystem::file_size(path, error) << '\n'
      << std::filesystem::last_write_time(path, error).time_since_epoch().count() << '\n'
      << static_cast<int>(options.format) << ' ' << static_cast<int>(options.target) << ' ' << options.label_column
      << '\n' << options.features_name << '\n' << options.targets_name;
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Dataset>> cache;
  const std::lock_guard lock(mutex);
  const auto found = cache.find(key.str());
  if (found != cache.end() && !error) return found->second;
  auto data = std::make_shared<const Dataset>(read_dataset(path, options));
  if (!error) cache.emplace(key.str(), data);
  return data;
}

}  // namespace metaevo
