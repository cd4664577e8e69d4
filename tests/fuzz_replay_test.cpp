// The fuzzers' kept inputs (tests/fuzz/), replayed in the ordinary suite without clang: every seed of
// tests/fuzz/corpus/<target>/ and every input a fuzzer once failed on, tests/fuzz/regressions/<target>/,
// goes through the fuzz target's own entry function (tests/fuzz/fuzz_entries.cpp). Each must be
// accepted or rejected with a metaevo::Error; a crash or another exception fails the test.
// tests/fuzz/regressions/pending.txt lists inputs of known findings not fixed yet: skipped here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path fuzz_directory = fs::path(METAEVO_SOURCE_DIR) / "tests" / "fuzz";

std::vector<std::uint8_t> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// "<target>/<file>" of every pending input (the first word of each line; # starts a comment).
std::set<std::string> pending_inputs() {
  std::set<std::string> pending;
  std::ifstream in(fuzz_directory / "regressions" / "pending.txt");
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    const auto begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) continue;
    pending.insert(line.substr(begin, line.find_first_of(" \t", begin) - begin));
  }
  return pending;
}

/// Replays the seeds and regressions of `target`; returns how many inputs ran.
int replay(const std::string& target) {
  const std::set<std::string> pending = pending_inputs();
  const std::string seed_run = (fuzz_directory / "seed_run" / "run.h5").string();
  std::vector<fs::path> inputs;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path directory = fuzz_directory / kind / target;
    if (!fs::is_directory(directory)) continue;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
      if (entry.is_regular_file()) inputs.push_back(entry.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  int replayed = 0;
  for (const fs::path& input : inputs) {
    if (pending.count(target + "/" + input.filename().string()) != 0) continue;
    SCOPED_TRACE(input.string());
    const std::vector<std::uint8_t> bytes = file_bytes(input);
    bool known_target = false;
    EXPECT_NO_THROW(known_target = metaevo::fuzz::run_entry(target, bytes, seed_run.c_str()));
    EXPECT_TRUE(known_target) << target;
    ++replayed;
  }
  return replayed;
}

TEST(FuzzReplay, Config) { EXPECT_GT(replay("config"), 0); }
TEST(FuzzReplay, ExportedRule) { EXPECT_GT(replay("exported_rule"), 0); }
TEST(FuzzReplay, RunFile) { EXPECT_GT(replay("run_file"), 0); }
TEST(FuzzReplay, RunFileStructure) { EXPECT_GT(replay("run_file_structure"), 0); }
TEST(FuzzReplay, Dataset) { EXPECT_GT(replay("dataset"), 0); }
TEST(FuzzReplay, CommandResult) { EXPECT_GT(replay("command_result"), 0); }

}  // namespace
