// A test plugin built for a plugin API version this metaevo does not load: refused before its
// register function runs (which would abort the test).
#include <cstdlib>

#include "metaevo/core/plugin.hpp"

namespace {
void register_nothing() { std::abort(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const metaevo_plugin_info* metaevo_plugin_entry() {
  static const metaevo_plugin_info info{METAEVO_PLUGIN_API_VERSION + 1, &register_nothing};
  return &info;
}
