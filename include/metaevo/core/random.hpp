#pragma once
// Counter-based random streams: every draw in metaevo is keyed by what it is for, so results do not
// depend on evaluation order, rank count or how often a run was interrupted.
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace metaevo {

/// What a stream is used for; part of every stream key so two purposes never share draws.
enum class StreamPurpose : std::uint64_t {
  initial_population = 1,
  selection = 2,
  crossover = 3,
  mutation = 4,
  task_choice = 5,    // which family of the mix a task slot comes from
  task_sample = 6,    // the task itself (data, rotation, initial parameters)
  holdout_task = 7,   // fresh tasks for the final report, never seen during the search
  // The Gaussian sample of a distribution-based strategy (sep-CMA-ES: individual {generation, index};
  // OpenAI-ES: antithetic pair {generation, pair}); one stream per sample, so a generation's genomes do
  // not depend on the order they are asked or told in.
  strategy_sample = 8,
  // The GA's operator choice with operator_selection = "bandit": one stream per child, {generation,
  // index} (steady state: {steady_state_stream_marker, offspring_index}); two uniforms, the crossover
  // operator then the mutation operator. Not drawn from in "fixed" mode.
  operator_choice = 9,
  // The fixed validation task set: the top candidates of every generation are re-scored on it
  // (generation 0 of this purpose, always the same tasks); selection never sees these scores.
  validation_task = 10,
  // The minibatch order of a data task with batch_size > 0: one stream per epoch, keyed by the task's
  // own seed, {epoch} (see MinibatchSchedule in tasks/task.hpp). A stream apart from the task's data
  // draws, so a task has the same data with and without minibatches.
  minibatch = 11,
  // `metaevo evaluate`: the tasks the baselines' learning rates are tuned on (generation 0, drawn from
  // the run's own [[tasks]]: the meta-training distribution), and the held-out tasks every contender is
  // then scored on. Two purposes, so no tuning task is ever a held-out one.
  baseline_tuning = 12,
  evaluation_task = 13,
  // The fixed base a learned update rule adds its weight genes to: {family tag, layer}, keyed by the
  // rule's architecture option init_seed (not the run seed), so a rule means the same in every run.
  rule_base_weights = 14,
  // The seed of island i > 0 of an island run: {island} (island 0 keeps the run seed).
  island_seed = 15,
  test = 99,
};

/// SplitMix64 finalizer: a bijective 64-bit mix, the building block of the streams.
std::uint64_t mix64(std::uint64_t x) noexcept;

/// Hashes a run seed, a purpose and a path of counters (generation, individual, task ...) into a key.
std::uint64_t stream_key(std::uint64_t seed, StreamPurpose purpose,
                         std::initializer_list<std::uint64_t> path) noexcept;

/// A stream of draws: value i is mix64(key + i * golden gamma). Copyable, tiny, fully described by
/// (key, counter), which is all that needs saving. Normals and uniforms use our own transforms
/// (std::*_distribution is implementation-defined, so it would break bit-identity across libraries).
class RandomStream {
 public:
  explicit RandomStream(std::uint64_t key) noexcept : key_(key) {}
  RandomStream(std::uint64_t seed, StreamPurpose purpose, std::initializer_list<std::uint64_t> path) noexcept
      : key_(stream_key(seed, purpose, path)) {}

  std::uint64_t next_u64() noexcept;
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept;
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }
  /// Uniform integer in [0, n); n > 0. Uses rejection, so it is exactly uniform.
  std::uint64_t below(std::uint64_t n) noexcept;
  /// Standard normal by Box-Muller (no cached second value: every call costs two draws).
  double normal() noexcept;
  bool bernoulli(double p) noexcept { return uniform() < p; }
  /// `count` standard normals into `out` by Marsaglia's polar method, two per accepted pair of
  /// uniforms (an odd count drops the last second value). About four times cheaper than `count`
  /// calls of normal() (no cos, one log per pair), which matters for strategies sampling thousands of
  /// coordinates per genome; a different sequence than normal() gives.
  void fill_normal(double* out, std::size_t count) noexcept;

  std::uint64_t key() const noexcept { return key_; }
  std::uint64_t counter() const noexcept { return counter_; }

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & key_ & counter_;
  }

 private:
  std::uint64_t key_ = 0;
  std::uint64_t counter_ = 0;
};

}  // namespace metaevo
