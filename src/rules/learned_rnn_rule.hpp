#pragma once
// The "learned_rnn" update rule: a coordinate-wise tanh recurrent cell whose state every coordinate
// carries across steps, with a linear read-out on top of an Adam residual; its weights are gene
// blocks. Definition and initialization: docs/learned-rules.md.
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {

/// The learned_rnn family's registration (hyperparameters, architecture schema, gene blocks,
/// definition, factory), without the shared schedule hyperparameters the registry appends.
UpdateRuleRegistration learned_rnn_rule_registration();

}  // namespace metaevo
