#pragma once
// The "blend" update rule: a weighted sum of a library of update terms (SGD, heavy-ball and
// Nesterov momentum, Adam, signSGD, Signum, Lion), so a search can rediscover or mix them.
// The formula, the terms and the weights that give each built-in rule: docs/configuration.md.
#include "metaevo/rules/update_rule.hpp"

namespace metaevo {

/// The blend family's registration (name, help, hyperparameter table, factory), without the
/// shared schedule hyperparameters: the registry appends those when it adds the family.
UpdateRuleRegistration blend_rule_registration();

}  // namespace metaevo
