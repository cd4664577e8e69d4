// A test plugin that registers a task family under a built-in's name ("quadratic"): refused.
#include <memory>

#include "metaevo/core/plugin.hpp"
#include "metaevo/tasks/task.hpp"

namespace {
void register_clashing_family() {
  metaevo::register_task_family({
      .name = "quadratic",
      .help = "clashes with the built-in",
      .options = {},
      .make = [](const metaevo::Options&) -> std::unique_ptr<metaevo::TaskFamily> { return nullptr; },
  });
}
}  // namespace

METAEVO_PLUGIN(register_clashing_family)
