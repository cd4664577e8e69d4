#include "rules/learned_mlp_rule.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/learned_features.hpp"

// learned_mlp: the inputs of learned_features.hpp (F = 13) -> 1 or 2 tanh layers -> 2 outputs
// (direction d, magnitude m), the same weights for every coordinate, computed in batch over chunks
// of coordinates: a (rows x 8)(8 x H) product for the first layer (the 5 global inputs folded into
// its bias), a (rows x H1)(H1 x H2) product for a second, a (rows x H)(H x 2) read-out.

namespace metaevo {

namespace {

using learned::DenseLayer;
using learned::InputLayer;

constexpr std::uint64_t mlp_family_tag = 1;  // in the base weights' stream key

class LearnedMlpRule final : public UpdateRule {
 public:
  LearnedMlpRule(learned::OutputSettings settings, InputLayer input, std::vector<DenseLayer> hidden, DenseLayer readout)
      : settings_(std::move(settings)),
        input_(std::move(input)),
        hidden_(std::move(hidden)),
        readout_(std::move(readout)) {
    activations_.resize(hidden_.size() + 1);
  }

  std::string_view family() const override { return "learned_mlp"; }
  using UpdateRule::step;

  void reset(Eigen::Index parameter_count) override {
    features_.reset(parameter_count);
    const Eigen::Index rows = std::min(parameter_count, learned::chunk_rows);
    activations_[0].setZero(rows, input_.outputs());
    for (std::size_t l = 0; l < hidden_.size(); ++l) activations_[l + 1].setZero(rows, hidden_[l].weights.cols());
    output_.setZero(parameter_count, 2);
  }

  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    features_.update(parameters, gradient, context, settings_.epsilon, family());
    if (settings_.scale != 0.0) {
      input_.fold_globals(features_);
      const Eigen::Index n = features_.size();
      for (Eigen::Index offset = 0; offset < n; offset += learned::chunk_rows) {
        const Eigen::Index rows = std::min(learned::chunk_rows, n - offset);
        input_.preactivation(features_, offset, rows, activations_[0].topRows(rows));
        learned::tanh_in_place(activations_[0].topRows(rows));
        for (std::size_t l = 0; l < hidden_.size(); ++l) {
          auto next = activations_[l + 1].topRows(rows);
          next.noalias() = activations_[l].topRows(rows) * hidden_[l].weights;
          next.rowwise() += hidden_[l].bias;
          learned::tanh_in_place(next);
        }
        auto out = output_.middleRows(offset, rows);
        out.noalias() = activations_.back().topRows(rows) * readout_.weights;
        out.rowwise() += readout_.bias;
      }
    }
    features_.apply_step(parameters, output_, settings_, context.t);
  }

 private:
  learned::OutputSettings settings_;
  InputLayer input_;
  std::vector<DenseLayer> hidden_;  // the layers after the first
  DenseLayer readout_;
  learned::FeatureState features_;
  std::vector<Eigen::MatrixXd> activations_;  // chunk_rows x width, per hidden layer
  Eigen::MatrixXd output_;                    // n x 2: d, m
};

std::vector<Eigen::Index> layer_widths(const Options& architecture) {
  std::vector<Eigen::Index> widths{learned::feature_count};
  for (const std::int64_t width : architecture.integer_list("hidden_sizes"))
    widths.push_back(static_cast<Eigen::Index>(width));
  widths.push_back(2);
  return widths;
}

std::vector<GeneBlock> mlp_blocks(const Options& architecture) {
  const std::vector<Eigen::Index> widths = layer_widths(architecture);
  std::vector<GeneBlock> blocks;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    const bool readout = l + 2 == widths.size();
    const std::string shape = std::to_string(widths[l]) + " -> " + std::to_string(widths[l + 1]);
    blocks.push_back(learned::dense_block(
        readout ? "output" : "hidden" + std::to_string(l + 1), widths[l], widths[l + 1],
        readout ? "linear read-out " + shape + " (direction d, magnitude m), base 0"
                : "tanh layer " + shape + ", W row by row then b, added to a fixed base from init_seed"));
  }
  blocks.back().description += "; " + learned::weight_count_text(blocks);
  return blocks;
}

std::string mlp_definition() {
  return "learned_mlp: a coordinate-wise MLP (the same weights for every coordinate) on top of an Adam "
         "residual.\n" +
         learned::inputs_definition() +
         "Network (hidden_sizes = [H1] or [H1, H2]): h1 = tanh(x W1 + b1) (13 -> H1), h2 = tanh(h1 W2 + b2)\n"
         "(H1 -> H2, if given), (d, m) = h W_out + b_out (last hidden -> 2). Blocks: hidden1 = (W1, b1),\n"
         "hidden2 = (W2, b2), output = (W_out, b_out). Bases: W1 family tag 1, layer 0, gain 1; W2 family\n"
         "tag 1, layer 1, gain 1; W_out 0.\n" +
         learned::output_definition();
}

}  // namespace

UpdateRuleRegistration learned_mlp_rule_registration() {
  UpdateRuleRegistration registration;
  registration.name = "learned_mlp";
  registration.help = "coordinate-wise MLP over gradient statistics plus an Adam residual; weights are gene blocks";
  registration.hyperparameters = learned::output_hyperparameters();
  registration.architecture = OptionSchema{
      integer_list_option("hidden_sizes", {16}, 1, 2, NumericRange::closed(1, learned::max_width),
                          "widths of the tanh hidden layers (one or two); [16] gives 258 weights, [32, 32] 1,570"),
      integer_option("init_seed", 0, NumericRange::at_least(0),
                     "seed of the fixed base weights the genes are added to (not the run seed)"),
  };
  registration.definition = mlp_definition();
  registration.gene_blocks = mlp_blocks;
  registration.make = [](const RuleParameters& parameters) -> std::unique_ptr<UpdateRule> {
    const std::vector<Eigen::Index> widths = layer_widths(parameters.architecture);
    const std::int64_t init_seed = parameters.architecture.integer("init_seed");
    const std::size_t layer_count = widths.size() - 1;
    std::vector<DenseLayer> layers;
    for (std::size_t l = 0; l < layer_count; ++l) {
      const bool readout = l + 1 == layer_count;
      const Eigen::MatrixXd base =
          readout ? Eigen::MatrixXd()
                  : learned::base_weights(init_seed, mlp_family_tag, l, widths[l], widths[l + 1], 1.0);
      layers.push_back(learned::dense_layer(parameters.blocks.at(l), widths[l], widths[l + 1], base));
    }
    InputLayer input(layers.front());
    DenseLayer readout = std::move(layers.back());
    std::vector<DenseLayer> hidden(std::make_move_iterator(layers.begin() + 1),
                                   std::make_move_iterator(layers.end() - 1));
    return std::make_unique<LearnedMlpRule>(learned::output_settings(parameters), std::move(input), std::move(hidden),
                                            std::move(readout));
  };
  return registration;
}

}  // namespace metaevo
