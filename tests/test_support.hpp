#pragma once
// Small helpers shared by the tests: temporary files and running the metaevo command.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
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

/// All values of a dataset of a run file (row-major), read with the HDF5 library as `Value` (h5dump
/// output is too easy to match by accident). Fails the test and returns {} when it cannot be read.
template <class Value>
std::vector<Value> read_dataset(const std::filesystem::path& file, const std::string& dataset, hid_t memory_type) {
  std::vector<Value> values;
  const hid_t file_id = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_id < 0) {
    ADD_FAILURE() << "cannot open " << file;
    return values;
  }
  const hid_t dataset_id = H5Dopen2(file_id, dataset.c_str(), H5P_DEFAULT);
  if (dataset_id >= 0) {
    const hid_t space = H5Dget_space(dataset_id);
    values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    if (!values.empty() && H5Dread(dataset_id, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      ADD_FAILURE() << "cannot read " << dataset << " of " << file;
      values.clear();
    }
    H5Sclose(space);
    H5Dclose(dataset_id);
  } else {
    ADD_FAILURE() << "no dataset " << dataset << " in " << file;
  }
  H5Fclose(file_id);
  return values;
}

inline std::vector<std::int64_t> read_int64_dataset(const std::filesystem::path& file, const std::string& dataset) {
  return read_dataset<std::int64_t>(file, dataset, H5T_NATIVE_INT64);
}

inline std::vector<double> read_double_dataset(const std::filesystem::path& file, const std::string& dataset) {
  return read_dataset<double>(file, dataset, H5T_NATIVE_DOUBLE);
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

/// Expects every deterministic dataset of two run files to be identical (h5diff without tolerance
/// compares values exactly and exits 0 only when they are equal).
inline void expect_same_results(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  for (const std::string& dataset : deterministic_datasets()) {
    const CommandResult diff =
        run_command("h5diff " + expected.string() + " " + actual.string() + " " + dataset + " " + dataset);
    EXPECT_EQ(diff.exit_status, 0) << dataset << " differs between " << expected << " and " << actual << ":\n"
                                   << diff.output;
  }
}

}  // namespace metaevo::testing_support
