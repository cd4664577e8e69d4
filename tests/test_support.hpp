#pragma once
// Small helpers shared by the tests: temporary files and running the metaevo command.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace metaevo::testing_support {

/// A path under the test temp dir, unique per test, removed when the object dies.
class TemporaryPath {
 public:
  explicit TemporaryPath(const std::string& suffix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("metaevo_" + std::string(info->test_suite_name()) + "_" + info->name() + suffix);
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
      "/generations/diverged", "/generations/failed",    "/generations/reason",          "/best/genes"};
  return datasets;
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
