#pragma once
// What a plugin exports: a shared module (`add_library(x MODULE ...)` linking metaevo::metaevo) that
// `metaevo run --plugin x.so` loads with dlopen. Its register function adds task families and update
// rules through the ordinary registration API (docs/plugins.md):
//
//   void register_my_families() { metaevo::register_task_family({...}); metaevo::register_update_rule({...}); }
//   METAEVO_PLUGIN(register_my_families)
//
// The loader looks up one C symbol, checks the API version first and only then calls the function.

/// Raised when the entry's layout or the loader's promises change; a plugin built against another
/// version is refused before any of its code runs.
#define METAEVO_PLUGIN_API_VERSION 2  // 2: SearchStrategy gained the island members

extern "C" {

/// What the entry symbol returns. `api_version` stays the first member in every version, so the
/// loader can always read it.
struct metaevo_plugin_info {
  int api_version;            // METAEVO_PLUGIN_API_VERSION of the headers the plugin was built with
  void (*register_plugin)();  // registers the plugin's families; throws metaevo::ConfigError on a clash
};

/// The entry symbol, "metaevo_plugin_entry", defined by METAEVO_PLUGIN.
const metaevo_plugin_info* metaevo_plugin_entry();

}  // extern "C"

/// Defines the entry symbol of a plugin whose registration function is `register_function`
/// (a `void()` function). Use once, at namespace scope, in one source file of the plugin.
#define METAEVO_PLUGIN(register_function)                                                        \
  extern "C" __attribute__((visibility("default"))) const metaevo_plugin_info* metaevo_plugin_entry() { \
    static const metaevo_plugin_info info{METAEVO_PLUGIN_API_VERSION, &(register_function)};    \
    return &info;                                                                                \
  }
