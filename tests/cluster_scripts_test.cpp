// Checks on the shell side of the cluster tests (tests/cluster/) that are cheap to make from C++.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace metaevo {
namespace {

// The Slurm, PBS and mpirun tests compare run files by the dataset list of run_file_checks.sh: it must
// be the C++ tests' list, or the cluster tests would silently compare less.
TEST(ClusterScripts, RunFileChecksCompareTheDeterministicDatasets) {
  std::ifstream script(std::string(METAEVO_SOURCE_DIR) + "/tests/cluster/run_file_checks.sh");
  ASSERT_TRUE(script) << "cannot read tests/cluster/run_file_checks.sh";
  std::stringstream text;
  text << script.rdbuf();
  const std::string content = text.str();
  const std::string start_marker = "run_file_deterministic_datasets=(";
  const std::size_t start = content.find(start_marker);
  ASSERT_NE(start, std::string::npos);
  const std::size_t end = content.find(')', start);
  ASSERT_NE(end, std::string::npos);
  std::istringstream words(content.substr(start + start_marker.size(), end - start - start_marker.size()));
  std::vector<std::string> datasets;
  for (std::string word; words >> word;) datasets.push_back(word);
  EXPECT_EQ(datasets, testing_support::deterministic_datasets());
}

}  // namespace
}  // namespace metaevo
