// Storage and numeric fault drills (issue 19, item 4; docs/reliability.md, "Faults during a run").
// Storage: a disk that fills up during a run or a resume, in one process and under mpirun, and an
// output directory that turns read-only before a resume. The metaevo command runs with
// tests/fault_injection/file_system_faults.cpp preloaded (no mount needed: root in a container
// without CAP_SYS_ADMIN runs them too), and each drill checks the whole contract: one clear line,
// no crash at exit, no temporary file left, the last checkpoint intact, and a resume once the disk
// has room again that gives the uninterrupted run's results.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::CommandResult;
using testing_support::run_command;

// resume_test.cpp's shape: 5 generations of 8, two task families, a checkpoint every generation.
constexpr const char* drill_config = R"([run]
seed = 77
generations = 5

[ga]
population_size = 8
elite_count = 2
step_size_adaptation = "per_group"

[evaluation]
tasks_per_evaluation = 2
inner_steps = 30
holdout_tasks = 3

[update_rule]
family = "rmsprop"
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 0.5 }
alpha = { kind = "real", low = 0.8, high = 0.999, group = "averages" }
schedule = { kind = "categorical", choices = ["constant", "cosine"] }

[[tasks]]
family = "quadratic"
dimension = 6
condition_number = 30

[[tasks]]
family = "linear_regression"
dimension = 3
samples = 20
)";

/// A directory of its own per test (and per test process), removed with everything in it. Named as
/// TemporaryPath names files, with a parameterized test's '/' made '_'.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& suffix) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "metaevo_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                       std::to_string(::getpid()) + suffix;
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string cli() { return METAEVO_CLI_PATH; }

/// The environment that puts `directory` on a fault: the interposer preloaded for the command that
/// follows only (a sanitizer build's runtime is then not first in the list: tell it that is meant).
std::string with_faults(const std::filesystem::path& directory, const std::string& settings) {
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string prefix = "env LD_PRELOAD=" + std::string(METAEVO_FILE_SYSTEM_FAULTS_LIBRARY) +
                       " METAEVO_FAULT_DIRECTORY=" + directory.string() + " " + settings;
  prefix += " ASAN_OPTIONS=" + std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0 ";
  return prefix;
}

/// A disk under `directory` that takes `bytes` more, then is full.
std::string on_a_disk_of(const std::filesystem::path& directory, long long bytes) {
  return with_faults(directory, "METAEVO_FAULT_BYTES=" + std::to_string(bytes));
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Files under `directory` whose names end like a temporary of the store: a working copy or a torn
/// segment (.partial), a staging copy (.commit).
std::vector<std::string> temporary_files_in(const std::filesystem::path& directory) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    const auto ends_with = [&name](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".partial") || ends_with(".commit")) found.push_back(entry.path().string());
  }
  return found;
}

/// The lines of a command's output that report an error: metaevo's own (all but the start line of
/// --quiet), and any a crash or HDF5 prints.
std::vector<std::string> error_lines(const CommandResult& result) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < result.output.size()) {
    std::size_t end = result.output.find('\n', start);
    if (end == std::string::npos) end = result.output.size();
    const std::string line = result.output.substr(start, end - start);
    const bool start_line = line.rfind("metaevo: running ", 0) == 0 || line.rfind("metaevo: resuming ", 0) == 0;
    const bool from_metaevo = line.rfind("metaevo: ", 0) == 0 && !start_line;
    if (from_metaevo || line.find("error") != std::string::npos || line.find("Segmentation") != std::string::npos ||
        line.find("signal") != std::string::npos || line.find("HDF5-DIAG") != std::string::npos) {
      lines.push_back(line);
    }
    start = end + 1;
  }
  return lines;
}

/// Whether `line` says the disk is full, naming the file that could not be written and the file
/// system's directory (`directory`, or one under it: the segment directory).
bool says_the_disk_under_is_full(const std::string& line, const std::filesystem::path& directory) {
  const std::string words = "no space left on device (the file system holding '" + directory.string();
  const std::size_t at = line.find(words);
  return at != std::string::npos && line.find("' is full)", at) != std::string::npos &&
         (line.find("cannot write '" + directory.string() + "/") != std::string::npos ||
          line.find("failed for '" + directory.string() + "/") != std::string::npos);
}

/// The contract of a command that met a full disk: the storage status (not a signal: no crash at
/// exit), and one line that says the disk is full and names the file.
void expect_one_clear_full_disk_line(const CommandResult& result, const std::filesystem::path& directory) {
  EXPECT_EQ(result.exit_status, 4) << result.output;
  const std::vector<std::string> lines = error_lines(result);
  ASSERT_EQ(lines.size(), 1u) << result.output;
  EXPECT_EQ(lines[0].rfind("metaevo: ", 0), 0u) << lines[0];
  EXPECT_TRUE(says_the_disk_under_is_full(lines[0], directory)) << lines[0];
  EXPECT_EQ(lines[0].find("Input/output error"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("errno = "), std::string::npos) << "a line a user reads, not HDF5's error stack";
}

/// A completed run's file is the uninterrupted run's, segment directory included.
void expect_same_run(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  testing_support::expect_same_results(expected, actual);
  const RunFileContents a = read_run_file(expected);
  const RunFileContents b = read_run_file(actual);
  EXPECT_EQ(a.generations, b.generations);
  EXPECT_EQ(a.best_genome_id, b.best_genome_id);
  EXPECT_EQ(a.best_fitness, b.best_fitness);
  testing_support::expect_only_listed_segments(actual, b.segments);
}

/// What every drill compares with, and the bytes such a run writes (measured through the
/// interposer, so a budget can be set to run out part way).
struct Reference {
  std::filesystem::path config;
  std::filesystem::path run;
  long long bytes_written = 0;
};

Reference uninterrupted_run(const TemporaryDirectory& scratch, const TemporaryDirectory& disk,
                            const std::string& config_text = drill_config) {
  Reference reference;
  reference.config = scratch.path() / "drill.toml";
  std::ofstream(reference.config) << config_text;
  reference.run = disk.path() / "reference.h5";
  const std::filesystem::path report = scratch.path() / "bytes";
  const CommandResult run = run_command(with_faults(disk.path(), "METAEVO_FAULT_REPORT=" + report.string()) + cli() +
                                        " run " + reference.config.string() + " --quiet --out " + reference.run.string());
  EXPECT_EQ(run.exit_status, 0) << run.output;
  std::ifstream(report) >> reference.bytes_written;
  EXPECT_GT(reference.bytes_written, 0) << "the interposer counted nothing: is it preloaded?";
  // A second reference under another name, for the drills: the budget counts only the drill's run.
  const std::filesystem::path kept = scratch.path() / "reference.h5";
  testing_support::copy_run_file(reference.run, kept);
  std::filesystem::remove(reference.run);
  std::filesystem::remove_all(reference.run.string() + ".segments");
  reference.run = kept;
  return reference;
}

// A run whose disk fills at several points: inside the first commit (the run file never appears
// or stays at its creation), and part way through (during a commit: the staging copy of the run
// file is what takes most bytes). Each time: the storage status and one line saying the disk is
// full, no temporary file, the last checkpoint readable; then, with room again, `metaevo resume`
// completes the run with exactly the uninterrupted run's results.
TEST(FullDiskDrill, ARunThatFillsTheDiskStopsCleanlyAndResumesToTheUninterruptedRun) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const Reference reference = uninterrupted_run(scratch, disk);
  for (const double share : {0.3, 0.55, 0.8}) {
    const auto budget = static_cast<long long>(share * static_cast<double>(reference.bytes_written));
    SCOPED_TRACE("the disk takes " + std::to_string(budget) + " of the run's " +
                 std::to_string(reference.bytes_written) + " bytes");
    const std::filesystem::path output = disk.path() / ("run_" + std::to_string(budget) + ".h5");
    const CommandResult full = run_command(on_a_disk_of(disk.path(), budget) + cli() + " run " +
                                           reference.config.string() + " --quiet --out " + output.string());
    expect_one_clear_full_disk_line(full, disk.path());
    EXPECT_EQ(temporary_files_in(disk.path()), std::vector<std::string>{});
    EXPECT_FALSE(std::filesystem::exists(output.string() + ".lock"));
    const RunFileContents checkpoint = read_run_file(output);  // throws (fails the test) if torn
    ASSERT_TRUE(checkpoint.has_checkpoint);
    EXPECT_LT(checkpoint.generations, 5);
    EXPECT_EQ(checkpoint.checkpoint_generation, checkpoint.generations);
    testing_support::expect_only_listed_segments(output, checkpoint.segments);

    const CommandResult resumed = run_command(cli() + " resume " + output.string() + " --quiet");
    EXPECT_EQ(resumed.exit_status, 0) << resumed.output;
    expect_same_run(reference.run, output);
  }
}

// A resume that meets a full disk: at once (the working copy cannot be made) and part way. The
// first leaves the run file byte for byte as it was; the second leaves a later checkpoint. Either
// way one line, no crash while HDF5 closes at exit, no temporary file, and a resume with room
// again completes the uninterrupted run.
TEST(FullDiskDrill, AResumeThatFillsTheDiskStopsCleanlyAndResumesAgainToTheUninterruptedRun) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const Reference reference = uninterrupted_run(scratch, disk);
  for (const double share : {0.0, 0.45}) {
    const auto budget = static_cast<long long>(share * static_cast<double>(reference.bytes_written));
    SCOPED_TRACE("the disk takes " + std::to_string(budget) + " bytes");
    const std::filesystem::path output = disk.path() / ("run_" + std::to_string(budget) + ".h5");
    const CommandResult first = run_command(cli() + " run " + reference.config.string() +
                                            " --quiet --generations 2 --out " + output.string());
    ASSERT_EQ(first.exit_status, 0) << first.output;
    const std::string before = file_bytes(output);

    const CommandResult full =
        run_command(on_a_disk_of(disk.path(), budget) + cli() + " resume " + output.string() + " --generations 5 --quiet");
    expect_one_clear_full_disk_line(full, disk.path());
    EXPECT_EQ(temporary_files_in(disk.path()), std::vector<std::string>{});
    const RunFileContents checkpoint = read_run_file(output);
    ASSERT_TRUE(checkpoint.has_checkpoint);
    EXPECT_GE(checkpoint.generations, 2);
    if (budget == 0) {
      EXPECT_EQ(file_bytes(output), before) << "a resume that wrote nothing changed the run file";
    }
    testing_support::expect_only_listed_segments(output, checkpoint.segments);

    const CommandResult resumed = run_command(cli() + " resume " + output.string() + " --generations 5 --quiet");
    EXPECT_EQ(resumed.exit_status, 0) << resumed.output;
    expect_same_run(reference.run, output);
  }
}

// An MPI run of `config_text` on `ranks` ranks meets a full disk at 55 % of the run's bytes: every
// rank ends with the storage status (through MPI_Abort), nothing temporary is left, the checkpoint
// is intact, and a resume in one process completes the uninterrupted run.
void expect_an_mpi_run_to_stop_at_a_full_disk_and_resume(const std::string& config_text, int ranks) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const Reference reference = uninterrupted_run(scratch, disk, config_text);
  const auto budget = static_cast<long long>(0.55 * static_cast<double>(reference.bytes_written));
  const std::filesystem::path output = disk.path() / "run.h5";
  const CommandResult full = run_command(on_a_disk_of(disk.path(), budget) +
                                         "timeout 120 mpirun --allow-run-as-root --oversubscribe -np " +
                                         std::to_string(ranks) + " " + cli() + " run " + reference.config.string() +
                                         " --quiet --out " + output.string());
  EXPECT_NE(full.exit_status, 124) << "timed out: a rank hung\n" << full.output;
  EXPECT_EQ(full.exit_status, 4) << full.output;
  EXPECT_TRUE(says_the_disk_under_is_full(full.output, disk.path())) << full.output;
  EXPECT_EQ(temporary_files_in(disk.path()), std::vector<std::string>{});
  const RunFileContents checkpoint = read_run_file(output);
  ASSERT_TRUE(checkpoint.has_checkpoint);
  EXPECT_LT(checkpoint.generations, 5);
  testing_support::expect_only_listed_segments(output, checkpoint.segments);
  const CommandResult resumed = run_command(cli() + " resume " + output.string() + " --quiet");
  EXPECT_EQ(resumed.exit_status, 0) << resumed.output;
  expect_same_run(reference.run, output);
}

// Under mpirun with 3 ranks the master's store thread meets the full disk.
TEST(FullDiskDrill, AnMpiRunThatFillsTheDiskEndsEveryRankAndResumesToTheUninterruptedRun) {
  expect_an_mpi_run_to_stop_at_a_full_disk_and_resume(drill_config, 3);
}

// With islands the recorder stores on a thread of its own (store_thread.hpp), whose error reaches
// the recorder's main thread at its next event.
TEST(FullDiskDrill, AnIslandRunWhoseRecorderFillsTheDiskEndsEveryRankAndResumesToTheUninterruptedRun) {
  expect_an_mpi_run_to_stop_at_a_full_disk_and_resume(
      std::string(drill_config) + "\n[islands]\ncount = 2\nmigration_interval = 2\nmigration_size = 1\n", 5);
}

// The other ways a write fails on a file system, each said in words a user can act on (never the
// C library's bare text, or "Input/output error" for a copy cut short), with the same cleanup.
struct WriteError {
  const char* name;
  int error_number;
  const char* words;  // what the line must say
};

void PrintTo(const WriteError& error, std::ostream* out) { *out << error.name; }

class WriteErrorDrill : public ::testing::TestWithParam<WriteError> {};

TEST_P(WriteErrorDrill, IsSaidInWordsNamingTheFileAndLeavesTheLastCheckpoint) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const std::filesystem::path config = scratch.path() / "drill.toml";
  std::ofstream(config) << drill_config;
  const std::filesystem::path output = disk.path() / "run.h5";
  // About half of the run's 1.4 MB: part way, after the first commits.
  const CommandResult failed =
      run_command(with_faults(disk.path(), "METAEVO_FAULT_BYTES=700000 METAEVO_FAULT_ERRNO=" +
                                               std::to_string(GetParam().error_number)) +
                  cli() + " run " + config.string() + " --quiet --out " + output.string());
  EXPECT_EQ(failed.exit_status, 4) << failed.output;
  const std::vector<std::string> lines = error_lines(failed);
  ASSERT_EQ(lines.size(), 1u) << failed.output;
  EXPECT_NE(lines[0].find(GetParam().words), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("the file system holding '" + disk.path().string()), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("cannot write "), std::string::npos) << lines[0];
  EXPECT_EQ(temporary_files_in(disk.path()), std::vector<std::string>{});
  const RunFileContents checkpoint = read_run_file(output);
  EXPECT_TRUE(checkpoint.has_checkpoint);
  testing_support::expect_only_listed_segments(output, checkpoint.segments);
}

INSTANTIATE_TEST_SUITE_P(Errors, WriteErrorDrill,
                         ::testing::Values(WriteError{"QuotaExceeded", EDQUOT, "disk quota exceeded"},
                                           WriteError{"FileTooLarge", EFBIG, "file too large"},
                                           WriteError{"InputOutputError", EIO, "input/output error"},
                                           WriteError{"ReadOnlyFileSystem", EROFS, "read-only file system"}),
                         [](const ::testing::TestParamInfo<WriteError>& param_info) {
                           return std::string(param_info.param.name);
                         });

/// A small tmpfs mounted at a directory while alive (unmounted lazily when it dies).
class SmallTmpfs {
 public:
  /// False when this process may not mount (not root, or a container without CAP_SYS_ADMIN).
  bool mount(const std::filesystem::path& at, const std::string& size) {
    if (::geteuid() != 0) return false;
    const std::string command = "mount -t tmpfs -o size=" + size + " tmpfs '" + at.string() + "' 2> /dev/null";
    mounted_ = std::system(command.c_str()) == 0;
    if (mounted_) at_ = at;
    return mounted_;
  }
  bool resize(const std::string& size) const {
    const std::string command = "mount -o remount,size=" + size + " '" + at_.string() + "'";
    return std::system(command.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) std::system(("umount -l '" + at_.string() + "'").c_str());
  }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

// The same with a real full file system, where this machine lets the test mount one: a tmpfs of
// 400 KiB (the run takes about 800), enlarged to 16 MiB for the resume. The interposer drills above
// are the ones that always run; this one checks that they behave as a kernel's ENOSPC does.
TEST(FullDiskDrill, OnASmallTmpfsTheRunStopsCleanlyAndResumesOnceItIsEnlarged) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const Reference reference = uninterrupted_run(scratch, disk);
  TemporaryDirectory mount_point("_tmpfs");
  SmallTmpfs tmpfs;  // unmounted before mount_point is removed
  if (!tmpfs.mount(mount_point.path(), "400k")) GTEST_SKIP() << "this process may not mount a tmpfs";
  const std::filesystem::path output = mount_point.path() / "run.h5";
  const CommandResult full =
      run_command(cli() + " run " + reference.config.string() + " --quiet --out " + output.string());
  expect_one_clear_full_disk_line(full, mount_point.path());
  EXPECT_EQ(temporary_files_in(mount_point.path()), std::vector<std::string>{});
  const RunFileContents checkpoint = read_run_file(output);
  ASSERT_TRUE(checkpoint.has_checkpoint);
  EXPECT_LT(checkpoint.generations, 5);
  testing_support::expect_only_listed_segments(output, checkpoint.segments);

  ASSERT_TRUE(tmpfs.resize("16m"));
  const CommandResult resumed = run_command(cli() + " resume " + output.string() + " --quiet");
  EXPECT_EQ(resumed.exit_status, 0) << resumed.output;
  expect_same_run(reference.run, output);
}

// The run file's directory made read-only before a resume (chmod a-w; as root, which chmod does not
// stop, the interposer refuses the writes as the kernel would refuse them to anyone else): one line
// naming the file and saying why, the storage status, the run file and its directory untouched.
TEST(UnwritableOutputDrill, AResumeIntoAReadOnlyDirectoryIsRefusedWithOneLineAndTheRunUntouched) {
  TemporaryDirectory scratch("_scratch");
  TemporaryDirectory disk("_disk");
  const std::filesystem::path config = scratch.path() / "drill.toml";
  std::ofstream(config) << drill_config;
  const std::filesystem::path output = disk.path() / "run.h5";
  const CommandResult first =
      run_command(cli() + " run " + config.string() + " --quiet --generations 2 --out " + output.string());
  ASSERT_EQ(first.exit_status, 0) << first.output;
  const std::string before = file_bytes(output);
  std::vector<std::string> listing_before;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(disk.path())) {
    listing_before.push_back(entry.path().string());
  }
  std::filesystem::permissions(disk.path(), std::filesystem::perms::owner_write | std::filesystem::perms::group_write |
                                                std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  const CommandResult refused = run_command(with_faults(disk.path(), "METAEVO_FAULT_READ_ONLY=1") + cli() + " resume " +
                                            output.string() + " --generations 5 --quiet");
  std::filesystem::permissions(disk.path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
  EXPECT_EQ(refused.exit_status, 4) << refused.output;
  const std::vector<std::string> lines = error_lines(refused);
  ASSERT_EQ(lines.size(), 1u) << refused.output;
  EXPECT_NE(lines[0].find("cannot resume run file '" + output.string() + "'"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("permission denied (this user may not write in '" + disk.path().string() + "')"),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(file_bytes(output), before);
  std::vector<std::string> listing_after;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(disk.path())) {
    listing_after.push_back(entry.path().string());
  }
  std::sort(listing_before.begin(), listing_before.end());
  std::sort(listing_after.begin(), listing_after.end());
  EXPECT_EQ(listing_after, listing_before);
}

}  // namespace
}  // namespace metaevo
