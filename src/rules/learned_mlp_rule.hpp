#pragma once
// The "learned_mlp" update rule: a coordinate-wise MLP over gradient statistics on top of an Adam
// residual, its weights a gene block per layer. Definition and initialization: docs/learned-rules.md.
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {

/// The learned_mlp family's registration (hyperparameters, architecture schema, gene blocks,
/// definition, factory), without the shared schedule hyperparameters the registry appends.
UpdateRuleRegistration learned_mlp_rule_registration();

}  // namespace metaevo
