#include "metaevo/core/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "metaevo/core/error.hpp"
#include "metaevo/core/plugin.hpp"
#include "metaevo/core/sha256.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo {

namespace {

struct LoadedPlugin {
  PluginRecord record;
  std::vector<std::string> names;  // the families and rules it registered, to name a clash's owner
};

/// What this process has loaded, and which names existed before the first plugin (the built-ins).
struct PluginState {
  std::mutex mutex;
  std::vector<LoadedPlugin> loaded;
  std::set<std::string> builtin_names;
  bool builtins_known = false;
};

PluginState& plugin_state() {
  static PluginState state;
  return state;
}

/// "task family NAME" and "update rule family NAME": the registries' own words, as in their messages.
std::set<std::string> registered_names() {
  std::set<std::string> names;
  for (const std::string& name : task_family_registry().names()) names.insert(task_family_registry().what() + " " + name);
  for (const std::string& name : update_rule_registry().names()) names.insert(update_rule_registry().what() + " " + name);
  return names;
}

/// The path of the plugin that registered `key` ("task family NAME"), empty when none did.
std::string plugin_registering(const std::string& key) {
  PluginState& state = plugin_state();
  const std::lock_guard lock(state.mutex);
  for (const LoadedPlugin& plugin : state.loaded) {
    if (std::find(plugin.names.begin(), plugin.names.end(), key) != plugin.names.end()) return plugin.record.path;
  }
  return "";
}

/// The registries' clash message is `WHAT "NAME" is already registered`: says who registered NAME.
std::string clash_owner(const PluginState& state, const std::string& message) {
  const std::size_t open = message.find('"');
  const std::size_t close = open == std::string::npos ? open : message.find('"', open + 1);
  if (close == std::string::npos || message.find("is already registered") == std::string::npos) return "";
  const std::string key = message.substr(0, open - 1) + " " + message.substr(open + 1, close - open - 1);
  if (state.builtin_names.contains(key)) return " (a built-in)";
  for (const LoadedPlugin& plugin : state.loaded) {
    if (std::find(plugin.names.begin(), plugin.names.end(), key) != plugin.names.end()) {
      return " (by plugin " + plugin.record.path + ")";
    }
  }
  return "";
}

std::filesystem::path absolute_path(const std::filesystem::path& path) {
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return (error ? path : absolute).lexically_normal();
}

PluginRecord load(const std::filesystem::path& given, const std::string* expected_sha256) {
  const std::string label = "plugin " + given.string() + ": ";
  const auto failure = [&label](const std::string& reason) { return PluginError(label + reason); };
  std::error_code error;
  if (!std::filesystem::is_regular_file(given, error)) {
    throw failure(std::filesystem::exists(given, error) ? "not a regular file" : "no such file");
  }
  // dlopen reads a name without a slash as a library to search for: always give it a path.
  const std::filesystem::path path = absolute_path(given);
  std::string sha256;
  try {
    sha256 = sha256_file(path);
  } catch (const Error& cannot_read) {
    throw failure(cannot_read.what());
  }
  if (expected_sha256 != nullptr && sha256 != *expected_sha256) {
    throw failure("the file has changed since the run started (SHA-256 " + sha256 + ", the run file records " +
                  *expected_sha256 + ")");
  }

  PluginState& state = plugin_state();
  const std::lock_guard lock(state.mutex);
  for (const LoadedPlugin& plugin : state.loaded) {
    if (plugin.record.path != path.string()) continue;
    // dlopen would hand back the module already mapped, not the new bytes.
    if (plugin.record.sha256 != sha256) throw failure("the file has changed since this process loaded it");
    return plugin.record;
  }
  if (!state.builtins_known) {
    state.builtin_names = registered_names();
    state.builtins_known = true;
  }

  // RTLD_NOW: an unresolved symbol fails here, not in the middle of a run. RTLD_LOCAL: plugins do not
  // see each other's symbols (their libmetaevo.so dependency is the copy already loaded).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    throw failure(std::string("cannot load it: ") + (reason != nullptr ? reason : "dlopen failed"));
  }
  using Entry = const metaevo_plugin_info* (*)();
  dlerror();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "metaevo_plugin_entry"));
  if (entry == nullptr) {
    dlclose(handle);
    throw failure("no entry symbol metaevo_plugin_entry (is METAEVO_PLUGIN(...) in one of its sources?)");
  }
  const metaevo_plugin_info* info = entry();
  if (info == nullptr || info->api_version != METAEVO_PLUGIN_API_VERSION) {
    const std::string version = info == nullptr ? "none" : std::to_string(info->api_version);
    dlclose(handle);
    throw failure("built for plugin API version " + version + ", this metaevo loads version " +
                  std::to_string(METAEVO_PLUGIN_API_VERSION) + " (rebuild it against this metaevo)");
  }
  if (info->register_plugin == nullptr) {
    dlclose(handle);
    throw failure("its entry has no register function");
  }
  // From here on the module stays loaded, even on failure: what it registered points into its code.
  const std::set<std::string> before = registered_names();
  try {
    info->register_plugin();
  } catch (const ConfigError& clash) {
    throw failure(clash.what() + clash_owner(state, clash.what()));
  } catch (const std::exception& other) {
    throw failure(std::string("its register function failed: ") + other.what());
  } catch (...) {
    throw failure("its register function threw a non-standard exception");
  }
  LoadedPlugin loaded{{path.string(), sha256}, {}};
  for (const std::string& name : registered_names()) {
    if (!before.contains(name)) loaded.names.push_back(name);
  }
  state.loaded.push_back(std::move(loaded));
  return state.loaded.back().record;
}

}  // namespace

PluginRecord load_plugin(const std::filesystem::path& path) { return load(path, nullptr); }

PluginRecord load_recorded_plugin(const PluginRecord& recorded) { return load(recorded.path, &recorded.sha256); }

std::string plugin_of_task_family(std::string_view name) {
  return plugin_registering(task_family_registry().what() + " " + std::string(name));
}

std::string plugin_of_update_rule(std::string_view name) {
  return plugin_registering(update_rule_registry().what() + " " + std::string(name));
}

std::vector<PluginRecord> loaded_plugins() {
  PluginState& state = plugin_state();
  const std::lock_guard lock(state.mutex);
  std::vector<PluginRecord> records;
  for (const LoadedPlugin& plugin : state.loaded) records.push_back(plugin.record);
  return records;
}

}  // namespace metaevo
