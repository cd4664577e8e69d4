// Minibatches of the data tasks: the deterministic row order (MinibatchSchedule) and the shared
// dispatch between full-batch and minibatch evaluations (DataTaskBase).
#include <numeric>
#include <string>
#include <utility>

#include "metaevo/core/error.hpp"
#include "tasks/task_detail.hpp"

namespace metaevo {

MinibatchSchedule::MinibatchSchedule(std::uint64_t task_seed, Eigen::Index samples, Eigen::Index batch_size)
    : task_seed_(task_seed) {
  if (samples < 1 || batch_size < 1 || batch_size > samples) {
    throw ConfigError("minibatch schedule: batch_size must be in [1, samples = " + std::to_string(samples) +
                      "], got " + std::to_string(batch_size));
  }
  order_.resize(static_cast<std::size_t>(samples));
  batch_.resize(static_cast<std::size_t>(batch_size));
  position_ = order_.size();  // the first next() shuffles epoch 0
}

std::span<const Eigen::Index> MinibatchSchedule::next() {
  for (Eigen::Index& row : batch_) {
    if (position_ == order_.size()) shuffle_next_epoch();
    row = order_[position_++];
  }
  ++batches_drawn_;
  return batch_;
}

void MinibatchSchedule::shuffle_next_epoch() {
  // From the identity each time, so an epoch's order depends on (seed, epoch) only, not on history.
  std::iota(order_.begin(), order_.end(), Eigen::Index{0});
  RandomStream stream(task_seed_, StreamPurpose::minibatch, {next_epoch_});
  for (std::size_t i = order_.size() - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order_[i], order_[stream.below(i + 1)]);
  }
  ++next_epoch_;
  position_ = 0;
}

namespace task_detail {

DataTaskBase::DataTaskBase(Eigen::Index samples, Eigen::Index batch_size, std::uint64_t task_seed)
    : samples_(samples), batch_size_(batch_size) {
  if (batch_size > 0) schedule_.emplace(task_seed, samples, batch_size);
}

double DataTaskBase::loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const {
  if (!schedule_) return full_loss_and_gradient(parameters, gradient);
  check_parameter_count(parameters, dimension());  // before the batch is drawn: a bad call does not advance
  return rows_loss_and_gradient(schedule_->next(), parameters, gradient);
}

double DataTaskBase::subset_loss_and_gradient(std::span<const Eigen::Index> rows, const Eigen::VectorXd& parameters,
                                              Eigen::VectorXd& gradient) const {
  if (rows.empty()) throw EvaluationError("task: a subset loss needs at least one row");
  for (Eigen::Index row : rows) {
    if (row < 0 || row >= samples_) {
      throw EvaluationError("task: row " + std::to_string(row) + " is outside the data set of " +
                            std::to_string(samples_) + " samples");
    }
  }
  check_parameter_count(parameters, dimension());
  return rows_loss_and_gradient(rows, parameters, gradient);
}

}  // namespace task_detail

}  // namespace metaevo
