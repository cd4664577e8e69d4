#include "metaevo/tasks/external_task.hpp"

#include <string>

#include "metaevo/core/error.hpp"

namespace metaevo {

std::unique_ptr<Task> ExternalTaskFamily::sample(std::uint64_t /*seed*/) const {
  throw EvaluationError("task family '" + std::string(name()) +
                        "' runs its tasks externally and has no differentiable task to sample");
}

}  // namespace metaevo
