#pragma once
// Small helpers shared by the tests: temporary files and running the metaevo command.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <filesystem>
#include <string>
#include <vector>

namespace metaevo::testing_support {

/// A path under the test temp dir, unique per test and per test process, removed when the object
/// dies. The process id keeps suites of several build trees that run at once on one machine (a
/// Release and a sanitizer build, another checkout) from sharing files, and from stopping each
/// other's jobs: tests find their jobs with `pkill -f` by these paths.
class TemporaryPath {
 public:
  explicit TemporaryPath(const std::string& suffix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() / ("metaevo_" + std::string(info->test_suite_name()) + "_" +
                                                      info->name() + "_" + std::to_string(::getpid()) + suffix);
    std::filesystem::remove(path_);
  }
  ~TemporaryPath() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
    std::filesystem::remove_all(path_.string() + ".segments", ignored);  // a run file's segment directory
    std::filesystem::remove(path_.string() + ".lock", ignored);  // a run file's lock, left by a killed run
  }
  TemporaryPath(const TemporaryPath&) = delete;
  TemporaryPath& operator=(const TemporaryPath&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_status = -1;
  std::string output;  // stdout and stderr together
};

/// Runs a shell command and captures its output and exit status.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) result.output += buffer.data();
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// The datasets of a generational run that must not depend on where, when or in how many sessions
/// its evaluations ran (timing, worker ranks and the evaluation log do).
inline const std::vector<std::string>& deterministic_datasets() {
  static const std::vector<std::string> datasets = {
      "/generations/genes",    "/generations/step_size", "/generations/genome_id",       "/generations/parent_a",
      "/generations/parent_b", "/generations/fitness",   "/generations/mean_final_loss", "/generations/inner_steps",
      "/generations/diverged", "/generations/failed",    "/generations/reason",          "/best/genes",
      "/generations/task_score", "/generations/task_final_loss", "/generations/task_family"};
  return datasets;
}

/// The values of a dataset of a run file as the run presents it: a dataset under /generations or
/// /evaluations is the concatenation of its rows in the committed segments the root lists
/// (docs/hdf5-schema.md), anything else is read from the root. Each element is kept as its bytes in
/// the native type (numbers) or its text (variable-length strings), so two runs compare exactly.
/// Fails the test and returns no rows when it cannot be read.
struct RunDataset {
  std::vector<hsize_t> dims;          // rows summed over segments, then the row shape
  std::vector<std::string> elements;  // row-major
};

namespace detail {

inline std::vector<std::int64_t> read_int64s(hid_t location, const char* name) {
  std::vector<std::int64_t> values;
  const hid_t dataset = H5Dopen2(location, name, H5P_DEFAULT);
  if (dataset < 0) return values;
  const hid_t space = H5Dget_space(dataset);
  values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
  if (!values.empty() && H5Dread(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    values.clear();
  }
  H5Sclose(space);
  H5Dclose(dataset);
  return values;
}

/// Appends the first `rows` rows (all rows when rows < 0) of `dataset` in `file_id` to `into`, each
/// element converted to `as` (a native type) unless it is H5I_INVALID_HID.
inline bool append_rows(hid_t file_id, const std::string& dataset, long long rows, RunDataset& into,
                        hid_t as = H5I_INVALID_HID) {
  const hid_t dataset_id = H5Dopen2(file_id, dataset.c_str(), H5P_DEFAULT);
  if (dataset_id < 0) return false;
  const hid_t space = H5Dget_space(dataset_id);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  if (rank > 0 && rows >= 0) dims[0] = std::min<hsize_t>(dims[0], static_cast<hsize_t>(rows));
  hsize_t count = 1;
  for (const hsize_t extent : dims) count *= extent;
  const hid_t file_type = H5Dget_type(dataset_id);
  const bool text = H5Tis_variable_str(file_type) > 0;
  const hid_t memory_type = text ? H5Tcopy(file_type)
                                 : as >= 0 ? H5Tcopy(as) : H5Tget_native_type(file_type, H5T_DIR_ASCEND);
  const std::size_t size = H5Tget_size(memory_type);
  std::vector<unsigned char> buffer(static_cast<std::size_t>(count) * size);
  bool ok = true;
  if (count > 0) {
    const hid_t memory_space = H5Screate_simple(rank, dims.data(), nullptr);
    if (rank > 0) {
      std::vector<hsize_t> start(dims.size(), 0);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, dims.data(), nullptr);
    }
    ok = H5Dread(dataset_id, memory_type, rank > 0 ? memory_space : H5S_ALL, rank > 0 ? space : H5S_ALL,
                 H5P_DEFAULT, buffer.data()) >= 0;
    for (hsize_t i = 0; ok && i < count; ++i) {
      if (text) {
        const char* value = reinterpret_cast<char* const*>(buffer.data())[i];
        into.elements.emplace_back(value == nullptr ? "" : value);
      } else {
        into.elements.emplace_back(reinterpret_cast<const char*>(buffer.data() + i * size), size);
      }
    }
    if (ok && text) H5Dvlen_reclaim(memory_type, memory_space, H5P_DEFAULT, buffer.data());
    H5Sclose(memory_space);
  }
  if (into.dims.empty()) {
    into.dims = dims;
  } else if (!dims.empty()) {
    into.dims[0] += dims[0];
  }
  H5Tclose(memory_type);
  H5Tclose(file_type);
  H5Sclose(space);
  H5Dclose(dataset_id);
  return ok;
}

}  // namespace detail

inline RunDataset read_run_dataset(const std::filesystem::path& file, const std::string& dataset,
                                   hid_t as = H5I_INVALID_HID) {
  RunDataset result;
  const hid_t file_id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_id < 0) {
    ADD_FAILURE() << "cannot open " << file;
    return result;
  }
  const bool generations = dataset.rfind("/generations/", 0) == 0;
  const bool evaluations = dataset.rfind("/evaluations/", 0) == 0;
  if (!generations && !evaluations) {
    if (!detail::append_rows(file_id, dataset, -1, result, as)) ADD_FAILURE() << "cannot read " << dataset << " of " << file;
    H5Fclose(file_id);
    return result;
  }
  const std::vector<std::int64_t> rows =
      detail::read_int64s(file_id, generations ? "/segments/generations" : "/segments/evaluations");
  H5Fclose(file_id);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (rows[k] == 0) continue;
    char name[32];
    std::snprintf(name, sizeof name, "%06zu.h5", k);
    const std::filesystem::path segment = std::filesystem::path(file.string() + ".segments") / name;
    const hid_t segment_id = H5Fopen(segment.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (segment_id < 0 || !detail::append_rows(segment_id, dataset, rows[k], result, as)) {
      ADD_FAILURE() << "cannot read " << dataset << " of " << segment;
    }
    if (segment_id >= 0) H5Fclose(segment_id);
  }
  return result;
}

/// All values of an integer dataset of a run file (concatenated over its segments), read with the
/// HDF5 library (h5dump output is too easy to match by accident). Fails the test and returns {} when
/// it cannot be read.
inline std::vector<std::int64_t> read_int64_dataset(const std::filesystem::path& file, const std::string& dataset) {
  const RunDataset read = read_run_dataset(file, dataset, H5T_NATIVE_INT64);
  std::vector<std::int64_t> values;
  for (const std::string& element : read.elements) {
    std::int64_t value = 0;
    if (element.size() != sizeof value) {
      ADD_FAILURE() << dataset << " of " << file << " is not an integer dataset of 8-byte elements";
      return {};
    }
    std::memcpy(&value, element.data(), sizeof value);
    values.push_back(value);
  }
  return values;
}

/// All values of a floating-point dataset of a run file (concatenated over its segments).
inline std::vector<double> read_double_dataset(const std::filesystem::path& file, const std::string& dataset) {
  const RunDataset read = read_run_dataset(file, dataset, H5T_NATIVE_DOUBLE);
  std::vector<double> values;
  for (const std::string& element : read.elements) {
    double value = 0.0;
    if (element.size() != sizeof value) {
      ADD_FAILURE() << dataset << " of " << file << " is not a dataset of 8-byte numbers";
      return {};
    }
    std::memcpy(&value, element.data(), sizeof value);
    values.push_back(value);
  }
  return values;
}

/// The text values of a variable-length string dataset of a run file, joined by newlines.
inline std::string read_text_dataset(const std::filesystem::path& file, const std::string& dataset) {
  std::string joined;
  for (const std::string& element : read_run_dataset(file, dataset).elements) joined += element + "\n";
  return joined;
}

/// An int64 attribute of an object (group or dataset) of a run file; fails the test and returns -1
/// when it cannot be read.
inline std::int64_t read_int64_attribute(const std::filesystem::path& file, const std::string& object,
                                         const std::string& name) {
  std::int64_t value = -1;
  const hid_t file_id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t attribute = file_id >= 0 ? H5Aopen_by_name(file_id, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT)
                                       : H5I_INVALID_HID;
  if (attribute < 0 || H5Aread(attribute, H5T_NATIVE_INT64, &value) < 0) {
    ADD_FAILURE() << "cannot read " << object << "@" << name << " of " << file;
    value = -1;
  }
  if (attribute >= 0) H5Aclose(attribute);
  if (file_id >= 0) H5Fclose(file_id);
  return value;
}

/// Expects every deterministic dataset of two run files to be identical: same shape and the same
/// bytes in every element (NaN included), whatever the segments the rows were committed in.
inline void expect_same_results(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  for (const std::string& dataset : deterministic_datasets()) {
    const RunDataset a = read_run_dataset(expected, dataset);
    const RunDataset b = read_run_dataset(actual, dataset);
    EXPECT_EQ(a.dims, b.dims) << dataset << " has another shape in " << expected << " and " << actual;
    std::size_t first_difference = 0;
    while (first_difference < std::min(a.elements.size(), b.elements.size()) &&
           a.elements[first_difference] == b.elements[first_difference]) {
      ++first_difference;
    }
    EXPECT_TRUE(a.elements == b.elements) << dataset << " differs between " << expected << " and " << actual
                                          << " from element " << first_difference;
  }
}

/// Expects the segment directory of a closed run to hold exactly the segments its root lists
/// (000000.h5 ... ), no torn .partial and nothing newer.
inline void expect_only_listed_segments(const std::filesystem::path& file, std::int64_t listed) {
  std::vector<std::string> expected, found;
  for (std::int64_t k = 0; k < listed; ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "%06lld.h5", static_cast<long long>(k));
    expected.emplace_back(name);
  }
  const std::filesystem::path directory(file.string() + ".segments");
  std::error_code ignored;
  if (std::filesystem::is_directory(directory, ignored)) {
    for (const auto& entry : std::filesystem::directory_iterator(directory)) found.push_back(entry.path().filename());
  }
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, expected) << "in " << directory;
}

/// Copies a run (RUN.h5 and its segment directory RUN.h5.segments) to `to`.
inline void copy_run_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to);
  const std::filesystem::path segments(from.string() + ".segments");
  if (std::filesystem::exists(segments)) {
    std::filesystem::copy(segments, to.string() + ".segments", std::filesystem::copy_options::recursive);
  }
}

}  // namespace metaevo::testing_support
