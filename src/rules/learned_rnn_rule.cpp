#include "rules/learned_rnn_rule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/learned_features.hpp"

// learned_rnn: the inputs of learned_features.hpp (F = 13) drive a tanh cell per coordinate,
// h_t = tanh(x_t W_x + h_{t-1} W_h + b), the same weights for every coordinate and each coordinate
// its own state h (n x H, zero after reset); (d, m) = h_t W_out + b_out. In batch over chunks of
// coordinates: a (rows x 8)(8 x H) product (the global inputs folded into b), a (rows x H)(H x H)
// one and a (rows x H)(H x 2) read-out.

namespace metaevo {

namespace {

using learned::DenseLayer;
using learned::InputLayer;

constexpr std::uint64_t rnn_family_tag = 2;  // in the base weights' stream key
// The recurrent base has spectral radius about this: the cell remembers from generation 0 on, and
// stays contracting.
constexpr double recurrent_gain = 0.5;

class LearnedRnnRule final : public UpdateRule {
 public:
  LearnedRnnRule(learned::OutputSettings settings, InputLayer input, Eigen::MatrixXd recurrent, DenseLayer readout)
      : settings_(std::move(settings)),
        input_(std::move(input)),
        recurrent_(std::move(recurrent)),
        readout_(std::move(readout)) {}

  std::string_view family() const override { return "learned_rnn"; }
  using UpdateRule::step;

  void reset(Eigen::Index parameter_count) override {
    features_.reset(parameter_count);
    state_.setZero(parameter_count, recurrent_.rows());
    next_state_.setZero(std::min(parameter_count, learned::chunk_rows), recurrent_.rows());
    output_.setZero(parameter_count, 2);
  }

  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    features_.update(parameters, gradient, context, settings_.epsilon, family());
    if (settings_.scale != 0.0) {
      input_.fold_globals(features_);
      const Eigen::Index n = features_.size();
      for (Eigen::Index offset = 0; offset < n; offset += learned::chunk_rows) {
        const Eigen::Index rows = std::min(learned::chunk_rows, n - offset);
        auto next = next_state_.topRows(rows);
        auto state = state_.middleRows(offset, rows);
        input_.preactivation(features_, offset, rows, next);
        next.noalias() += state * recurrent_;
        learned::tanh_in_place(next);
        state = next;
        auto out = output_.middleRows(offset, rows);
        out.noalias() = state * readout_.weights;
        out.rowwise() += readout_.bias;
      }
    }
    features_.apply_step(parameters, output_, settings_, context.t);
  }

 private:
  learned::OutputSettings settings_;
  InputLayer input_;
  Eigen::MatrixXd recurrent_;  // H x H: h_{t-1} W_h
  DenseLayer readout_;
  learned::FeatureState features_;
  Eigen::MatrixXd state_;       // n x H: h_{t-1} before a step, h_t after
  Eigen::MatrixXd next_state_;  // chunk_rows x H scratch
  Eigen::MatrixXd output_;      // n x 2: d, m
};

Eigen::Index hidden_size(const Options& architecture) {
  return static_cast<Eigen::Index>(architecture.integer("hidden_size"));
}

std::vector<GeneBlock> rnn_blocks(const Options& architecture) {
  const Eigen::Index h = hidden_size(architecture);
  const std::string width = std::to_string(h);
  std::vector<GeneBlock> blocks;
  blocks.push_back(learned::dense_block(
      "input", learned::feature_count, h,
      "cell input 13 -> " + width + ", W_x row by row then b, added to a fixed base from init_seed"));
  // The recurrent matrix has no bias of its own (b is the input block's): a dense block's bounds
  // and spread, H x H values.
  GeneBlock recurrent = learned::dense_block(
      "recurrent", h, h,
      "recurrent W_h " + width + " x " + width + " row by row, added to a fixed base of spectral radius about 0.5");
  recurrent.length = static_cast<std::int64_t>(h * h);
  blocks.push_back(std::move(recurrent));
  blocks.push_back(
      learned::dense_block("readout", h, 2, "linear read-out " + width + " -> 2 (direction d, magnitude m), base 0"));
  blocks.back().description += "; " + learned::weight_count_text(blocks);
  return blocks;
}

std::string rnn_definition() {
  return "learned_rnn: a coordinate-wise recurrent cell (the same weights for every coordinate, a state\n"
         "per coordinate) on top of an Adam residual.\n" +
         learned::inputs_definition() +
         "Cell (hidden_size = H), state h zero after reset: h <- tanh(x W_x + h W_h + b) (13 -> H),\n"
         "(d, m) = h W_out + b_out (H -> 2), h the state just computed. Blocks: input = (W_x, b),\n"
         "recurrent = W_h (H x H, row by row: value j * H + k from unit j to unit k, no bias), readout =\n"
         "(W_out, b_out). Bases: W_x family tag 2, layer 0, gain 1; W_h family tag 2, layer 1, gain 0.5\n"
         "(inputs = H); W_out 0. With scale = 0 the cell is not run and its state stays 0.\n" +
         learned::output_definition();
}

}  // namespace

UpdateRuleRegistration learned_rnn_rule_registration() {
  UpdateRuleRegistration registration;
  registration.name = "learned_rnn";
  registration.help =
      "coordinate-wise tanh recurrent cell over gradient statistics plus an Adam residual; weights are gene blocks";
  registration.hyperparameters = learned::output_hyperparameters();
  registration.architecture = OptionSchema{
      integer_option("hidden_size", 16, NumericRange::closed(1, learned::max_width),
                     "state units per coordinate; 16 gives 514 weights, 32 gives 1,538"),
      integer_option("init_seed", 0, NumericRange::at_least(0),
                     "seed of the fixed base weights the genes are added to (not the run seed)"),
  };
  registration.definition = rnn_definition();
  registration.gene_blocks = rnn_blocks;
  registration.make = [](const RuleParameters& parameters) -> std::unique_ptr<UpdateRule> {
    const Eigen::Index h = hidden_size(parameters.architecture);
    const std::int64_t init_seed = parameters.architecture.integer("init_seed");
    const Eigen::Index f = learned::feature_count;
    const DenseLayer input = learned::dense_layer(parameters.blocks.at(0), f, h,
                                                  learned::base_weights(init_seed, rnn_family_tag, 0, f, h, 1.0));
    // W_h = base + block, the block read row by row like a layer's W.
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::MatrixXd recurrent = Eigen::Map<const RowMajor>(parameters.blocks.at(1).data(), h, h);
    recurrent += learned::base_weights(init_seed, rnn_family_tag, 1, h, h, recurrent_gain);
    DenseLayer readout = learned::dense_layer(parameters.blocks.at(2), h, 2, Eigen::MatrixXd());
    return std::make_unique<LearnedRnnRule>(learned::output_settings(parameters), InputLayer(input),
                                            std::move(recurrent), std::move(readout));
  };
  return registration;
}

}  // namespace metaevo
