// Plugins through the metaevo command: loading (the example plugin and one broken plugin per loading
// error), what the run file records, and resume's refusal of a missing or changed plugin.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/sha256.hpp"
#include "metaevo/store/run_store.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

std::string test_plugin(const std::string& name) {
  return std::string(METAEVO_TEST_PLUGIN_DIR) + "/libmetaevo_test_plugin_" + name + ".so";
}

std::string cli() { return METAEVO_CLI_PATH; }

// The example plugin's families, small enough for a few seconds; `run_table` lines go into [run].
std::string example_config(const std::string& run_table = "") {
  return "[run]\nseed = 3\ngenerations = 2\n" + run_table +
         "\n[ga]\npopulation_size = 4\n"
         "[evaluation]\ntasks_per_evaluation = 2\ninner_steps = 20\nholdout_tasks = 2\nvalidation_tasks = 0\n"
         "[update_rule]\nfamily = \"sign_momentum\"\n"
         "[update_rule.genes]\nlearning_rate = { kind = \"log_real\", low = 1e-3, high = 1.0 }\n"
         "[[tasks]]\nfamily = \"shifted_ellipsoid\"\ndimension = 4\n";
}

std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Plugins, RunRecordsThePluginAndInspectShowsIt) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config();
  TemporaryPath output(".h5");
  const auto run =
      run_command(cli() + " run " + config.string() + " --quiet --out " + output.string() + " --plugin " + test_plugin("example"));
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path(), false);
  ASSERT_EQ(contents.plugins.size(), 1u);
  EXPECT_EQ(contents.plugins[0].path, std::filesystem::path(test_plugin("example")).lexically_normal().string());
  EXPECT_EQ(contents.plugins[0].sha256, sha256_file(test_plugin("example")));
  EXPECT_EQ(contents.generations, 2);

  const auto inspect = run_command(cli() + " inspect " + output.string());
  ASSERT_EQ(inspect.exit_status, 0) << inspect.output;
  EXPECT_TRUE(contains(inspect.output, "plugins")) << inspect.output;
  EXPECT_TRUE(contains(inspect.output, contents.plugins[0].path + "  sha256 " + contents.plugins[0].sha256)) << inspect.output;
}

TEST(Plugins, ConfigListsPluginsRelativeToItsDirectory) {
  TemporaryPath directory("_dir");
  std::filesystem::create_directories(directory.path());
  std::filesystem::copy_file(test_plugin("example"), directory.path() / "example.so");
  std::ofstream(directory.path() / "run.toml") << example_config("plugins = [\"example.so\"]\n");
  const auto check = run_command("cd / && " + cli() + " check " + (directory.path() / "run.toml").string());
  EXPECT_EQ(check.exit_status, 0) << check.output;
  EXPECT_TRUE(contains(check.output, "plugin " + (directory.path() / "example.so").string())) << check.output;
  const auto families = run_command(cli() + " families --plugin " + (directory.path() / "example.so").string());
  EXPECT_EQ(families.exit_status, 0) << families.output;
  EXPECT_TRUE(contains(families.output, "shifted_ellipsoid")) << families.output;
  EXPECT_TRUE(contains(families.output, "sign_momentum")) << families.output;
  std::filesystem::remove_all(directory.path());
}

TEST(PluginsInConfig, PathsResolveAgainstTheConfigsDirectoryBeforeTheConfigIsRead) {
  TemporaryPath config("_config.toml");
  // The families are unknown in this process: the pre-pass reads only run.plugins.
  std::ofstream(config.path()) << example_config("plugins = [\"a.so\", \"/abs/b.so\"]\n");
  const std::vector<std::filesystem::path> paths = plugin_paths_in_config(config.path());
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], config.path().parent_path() / "a.so");
  EXPECT_EQ(paths[1], std::filesystem::path("/abs/b.so"));
}

TEST(PluginsInConfig, NotAnArrayOfStringsIsAConfigErrorAtItsLine) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << "[run]\nseed = 1\nplugins = \"a.so\"\n";
  try {
    plugin_paths_in_config(config.path());
    FAIL() << "accepted a string";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), ":3: run.plugins must be an array of plugin file paths")) << error.what();
  }
  // The full reader checks the key the same way (the families here are built-ins).
  const auto builtin_config = [](const std::string& plugins) {
    return "[run]\nseed = 1\n" + plugins + "\n[update_rule]\nfamily = \"sgd\"\n[update_rule.genes]\n" +
           "learning_rate = { kind = \"log_real\", low = 1e-3, high = 1.0 }\n[[tasks]]\nfamily = \"quadratic\"\n";
  };
  try {
    parse_config(builtin_config("plugins = [1]"));
    FAIL() << "accepted a number";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "<string>:3: run.plugins must be an array of plugin file paths (strings), got"))
        << error.what();
  }
  EXPECT_EQ(parse_config(builtin_config("plugins = [\"x.so\"]")).run.plugins, std::vector<std::string>{"x.so"});
}

TEST(Plugins, WithoutThePluginItsFamiliesAreUnknown) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config();
  const auto check = run_command(cli() + " check " + config.string());
  EXPECT_EQ(check.exit_status, 3) << check.output;
  EXPECT_TRUE(contains(check.output, "sign_momentum")) << check.output;
}

// Each loading error: one line, status 3, and no run file.
void expect_refused(const std::string& plugin_arguments, const std::string& expected) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config();
  TemporaryPath output(".h5");
  const auto run = run_command(cli() + " run " + config.string() + " --quiet --out " + output.string() + plugin_arguments);
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_EQ(line_count(run.output), 1u) << run.output;
  EXPECT_TRUE(run.output.starts_with("metaevo: plugin ")) << run.output;
  EXPECT_TRUE(contains(run.output, expected)) << run.output;
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

TEST(Plugins, MissingFileIsRefused) {
  expect_refused(" --plugin /nonexistent/libnothing.so", "plugin /nonexistent/libnothing.so: no such file");
}

TEST(Plugins, MissingEntrySymbolIsRefused) {
  expect_refused(" --plugin " + test_plugin("missing_entry"), "no entry symbol metaevo_plugin_entry");
}

TEST(Plugins, OtherApiVersionIsRefused) {
  expect_refused(" --plugin " + test_plugin("wrong_api_version"),
                 "built for plugin API version 3, this metaevo loads version 2");
}

TEST(Plugins, NameOfABuiltInIsRefused) {
  expect_refused(" --plugin " + test_plugin("clashing"), "task family \"quadratic\" is already registered (a built-in)");
}

TEST(Plugins, NameOfAnotherPluginIsRefused) {
  TemporaryPath copy("_copy.so");
  std::filesystem::copy_file(test_plugin("example"), copy.path());
  expect_refused(" --plugin " + test_plugin("example") + " --plugin " + copy.string(),
                 "task family \"shifted_ellipsoid\" is already registered (by plugin " + test_plugin("example") + ")");
}

TEST(Plugins, MissingFileInTheConfigIsRefused) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config("plugins = [\"no_such_plugin.so\"]\n");
  TemporaryPath output(".h5");
  const auto run = run_command(cli() + " run " + config.string() + " --quiet --out " + output.string());
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_TRUE(contains(run.output, "no_such_plugin.so: no such file")) << run.output;
  EXPECT_FALSE(std::filesystem::exists(output.path()));
}

TEST(Plugins, ResumeReloadsThePluginAndRefusesAChangedOrMissingOne) {
  TemporaryPath plugin("_plugin.so");
  std::filesystem::copy_file(test_plugin("example"), plugin.path());
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config();
  TemporaryPath output(".h5");
  const auto run =
      run_command(cli() + " run " + config.string() + " --quiet --out " + output.string() + " --plugin " + plugin.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const auto resumed = run_command(cli() + " resume " + output.string() + " --quiet --generations 3");
  ASSERT_EQ(resumed.exit_status, 0) << resumed.output;
  EXPECT_EQ(read_run_file(output.path(), false).generations, 3);

  // Other bytes at the recorded path: refused before anything of the run changes.
  std::filesystem::copy_file(test_plugin("clashing"), plugin.path(), std::filesystem::copy_options::overwrite_existing);
  const auto changed = run_command(cli() + " resume " + output.string() + " --quiet --generations 4");
  EXPECT_EQ(changed.exit_status, 3) << changed.output;
  EXPECT_EQ(line_count(changed.output), 1u) << changed.output;
  EXPECT_TRUE(contains(changed.output, "has changed since the run started")) << changed.output;

  std::filesystem::remove(plugin.path());
  const auto missing = run_command(cli() + " resume " + output.string() + " --quiet --generations 4");
  EXPECT_EQ(missing.exit_status, 3) << missing.output;
  EXPECT_TRUE(contains(missing.output, plugin.string() + ": no such file")) << missing.output;
  EXPECT_EQ(read_run_file(output.path(), false).generations, 3);
}

TEST(Plugins, EveryMpiRankLoadsThePlugin) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << example_config("plugins = [\"" + test_plugin("example") + "\"]\n");
  TemporaryPath output(".h5");
  const auto run = run_command("timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 " + cli() + " run " +
                               config.string() + " --quiet --out " + output.string());
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const RunFileContents contents = read_run_file(output.path(), false);
  EXPECT_EQ(contents.generations, 2);
  ASSERT_EQ(contents.plugins.size(), 1u);
}

TEST(Plugins, AWorkerThatCannotLoadAPluginStopsTheJob) {
  TemporaryPath config("_config.toml");
  std::ofstream(config.path()) << "[run]\nseed = 1\ngenerations = 2\n[ga]\npopulation_size = 4\n"
                                  "[update_rule]\nfamily = \"sgd\"\n[update_rule.genes]\n"
                                  "learning_rate = { kind = \"log_real\", low = 1e-3, high = 1.0 }\n"
                                  "[[tasks]]\nfamily = \"quadratic\"\n";
  TemporaryPath output(".h5");
  const auto run = run_command("timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 " + cli() + " run " +
                               config.string() + " --quiet --out " + output.string() + " --plugin " +
                               test_plugin("worker_failing"));
  EXPECT_NE(run.exit_status, 0) << run.output;
  EXPECT_NE(run.exit_status, 124) << "the job hung: " << run.output;  // timeout's status
  EXPECT_TRUE(contains(run.output, "metaevo: worker ")) << run.output;
  EXPECT_TRUE(contains(run.output, "its register function failed: refused on rank ")) << run.output;
}

}  // namespace
}  // namespace metaevo
