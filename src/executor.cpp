#include "metaevo/executor.hpp"

namespace metaevo {

std::vector<EvaluationResult> InProcessExecutor::evaluate(const std::vector<EvaluationRequest>& requests) {
  std::vector<EvaluationResult> results;
  results.reserve(requests.size());
  for (const EvaluationRequest& request : requests) results.push_back(evaluator_.evaluate(request.genome, request.key));
  return results;
}

}  // namespace metaevo
