#pragma once
// Loading plugins (include/metaevo/core/plugin.hpp) into this process: every rank of a run loads the
// same files before it reads a config, since the config may name their families.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace metaevo {

/// A loaded plugin as the run file records it (/config/plugins).
struct PluginRecord {
  std::string path;    // absolute
  std::string sha256;  // of the file's bytes when it was loaded, 64 lowercase hex digits
};

/// Loads a plugin and calls its register function. Throws PluginError (a ConfigError) with a one-line message that
/// starts with "plugin PATH: " when the file is missing or unloadable, lacks the entry symbol, was
/// built for another plugin API version, or registers a name that is taken (the message says by whom).
/// Loading a file already loaded by this process does nothing more and returns its record.
PluginRecord load_plugin(const std::filesystem::path& path);

/// As load_plugin, but for a plugin a run file records (resume, and the workers of a run): refuses a
/// file whose SHA-256 is not the recorded one.
PluginRecord load_recorded_plugin(const PluginRecord& recorded);

/// Every plugin this process has loaded, in loading order.
std::vector<PluginRecord> loaded_plugins();

/// The path of the plugin that registered task family `name`, empty for a built-in or unknown name
/// (for messages: a crash report names the plugin whose code was running).
std::string plugin_of_task_family(std::string_view name);

/// As plugin_of_task_family, for an update rule family.
std::string plugin_of_update_rule(std::string_view name);

}  // namespace metaevo
