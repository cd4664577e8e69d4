#pragma once
// Where evaluations run. The in-process executor is the debug mode; the MPI executor (a later
// issue) has the same interface and gives the same results.
#include <vector>

#include "metaevo/evaluator.hpp"

namespace metaevo {

struct EvaluationRequest {
  Genome genome;
  EvaluationKey key;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & genome & key;
  }
};

class Executor {
 public:
  virtual ~Executor() = default;
  /// Results in the order of the requests, whatever order they were computed in.
  virtual std::vector<EvaluationResult> evaluate(const std::vector<EvaluationRequest>& requests) = 0;
};

class InProcessExecutor final : public Executor {
 public:
  explicit InProcessExecutor(const Evaluator& evaluator) : evaluator_(evaluator) {}
  std::vector<EvaluationResult> evaluate(const std::vector<EvaluationRequest>& requests) override;

 private:
  const Evaluator& evaluator_;
};

}  // namespace metaevo
