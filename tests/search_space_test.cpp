#include "metaevo/search/search_space.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

GeneSpec real_gene(std::string name, double low, double high, std::string group = {}) {
  return GeneSpec{std::move(name), GeneKind::real, low, high, {}, std::move(group)};
}
GeneSpec log_gene(std::string name, double low, double high, std::string group = {}) {
  return GeneSpec{std::move(name), GeneKind::log_real, low, high, {}, std::move(group)};
}
GeneSpec integer_gene(std::string name, double low, double high) {
  return GeneSpec{std::move(name), GeneKind::integer, low, high, {}, {}};
}
GeneSpec choice_gene(std::string name, std::vector<std::string> choices) {
  return GeneSpec{std::move(name), GeneKind::categorical, 0.0, 1.0, std::move(choices), {}};
}

SearchSpace mixed_space() {
  return SearchSpace({real_gene("momentum", 0.5, 0.99), log_gene("learning_rate", 1e-5, 1e-1),
                      integer_gene("warmup", 0, 10), choice_gene("schedule", {"constant", "cosine", "step"})});
}

// Expects a ConfigError whose message contains every given fragment.
template <class Function>
void expect_config_error(Function&& function, std::initializer_list<std::string> fragments) {
  try {
    function();
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message << "\nmissing: " << fragment;
    }
  }
}

TEST(SearchSpaceTest, GeneKindStringsRoundTrip) {
  for (GeneKind kind : {GeneKind::real, GeneKind::log_real, GeneKind::integer, GeneKind::categorical}) {
    EXPECT_EQ(from_string<GeneKind>(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(GeneKind::log_real), "log_real");
  EXPECT_FALSE(from_string<GeneKind>("Real").has_value());
  EXPECT_FALSE(from_string<GeneKind>("").has_value());
}

TEST(SearchSpaceTest, DecodesEachKindByItsFormula) {
  const SearchSpace space = mixed_space();
  EXPECT_DOUBLE_EQ(std::get<double>(space.decode_gene(0, 0.5)), 0.5 + 0.5 * 0.49);
  // log_real at 0.5 is the geometric mean of the bounds: sqrt(1e-5 * 1e-1) = 1e-3.
  EXPECT_NEAR(std::get<double>(space.decode_gene(1, 0.5)), 1e-3, 1e-15);
  EXPECT_NEAR(std::get<double>(space.decode_gene(1, 0.25)), 1e-4, 1e-16);
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, 0.0)), 0);
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, 0.04)), 0);   // 0.4 rounds to 0
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, 0.06)), 1);   // 0.6 rounds to 1
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, 0.73)), 7);
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, 1.0)), 10);
  EXPECT_EQ(std::get<std::string>(space.decode_gene(3, 0.0)), "constant");
  EXPECT_EQ(std::get<std::string>(space.decode_gene(3, 0.34)), "cosine");
  EXPECT_EQ(std::get<std::string>(space.decode_gene(3, 0.999)), "step");
  EXPECT_EQ(std::get<std::string>(space.decode_gene(3, 1.0)), "step");  // the last cell includes 1
}

TEST(SearchSpaceTest, DecodeClampsOutsideTheUnitInterval) {
  const SearchSpace space = mixed_space();
  EXPECT_EQ(std::get<double>(space.decode_gene(0, -3.0)), 0.5);
  EXPECT_EQ(std::get<double>(space.decode_gene(0, 7.0)), 0.99);
  EXPECT_EQ(std::get<double>(space.decode_gene(1, 1.5)), 1e-1);
  EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, -0.2)), 0);
  EXPECT_EQ(std::get<std::string>(space.decode_gene(3, 2.0)), "step");
}

TEST(SearchSpaceTest, BoundsMapToZeroAndOne) {
  const SearchSpace space = mixed_space();
  EXPECT_EQ(space.encode_gene(0, 0.5), 0.0);
  EXPECT_EQ(space.encode_gene(0, 0.99), 1.0);
  EXPECT_EQ(space.encode_gene(1, 1e-5), 0.0);
  EXPECT_EQ(space.encode_gene(1, 1e-1), 1.0);
  EXPECT_EQ(space.encode_gene(2, std::int64_t{0}), 0.0);
  EXPECT_EQ(space.encode_gene(2, std::int64_t{10}), 1.0);
  EXPECT_EQ(std::get<double>(space.decode_gene(0, 0.0)), 0.5);
  EXPECT_EQ(std::get<double>(space.decode_gene(0, 1.0)), 0.99);
  EXPECT_EQ(std::get<double>(space.decode_gene(1, 0.0)), 1e-5);
  EXPECT_EQ(std::get<double>(space.decode_gene(1, 1.0)), 1e-1);
}

TEST(SearchSpaceTest, EncodeThenDecodeRecoversEveryValue) {
  const SearchSpace space = mixed_space();
  for (double value : {0.5, 0.6, 0.77, 0.9, 0.99}) {
    EXPECT_NEAR(std::get<double>(space.decode_gene(0, space.encode_gene(0, value))), value, 1e-12);
  }
  for (double value : {1e-5, 3e-5, 1e-4, 2.5e-3, 0.05, 0.1}) {
    EXPECT_NEAR(std::get<double>(space.decode_gene(1, space.encode_gene(1, value))), value, 1e-12 * value);
  }
  for (std::int64_t value = 0; value <= 10; ++value) {
    EXPECT_EQ(std::get<std::int64_t>(space.decode_gene(2, space.encode_gene(2, value))), value);
  }
  for (const std::string choice : {"constant", "cosine", "step"}) {
    const double x = space.encode_gene(3, choice);
    EXPECT_EQ(std::get<std::string>(space.decode_gene(3, x)), choice);
  }
  // Categorical codes sit at the centre of their cell.
  EXPECT_DOUBLE_EQ(space.encode_gene(3, std::string("cosine")), 0.5);
  EXPECT_DOUBLE_EQ(space.encode_gene(3, std::string("step")), 2.5 / 3.0);
  // Integer codes are the exact preimage of the value.
  EXPECT_DOUBLE_EQ(space.encode_gene(2, std::int64_t{3}), 0.3);
}

TEST(SearchSpaceTest, DecodeThenEncodeRecoversContinuousCoordinates) {
  const SearchSpace space = mixed_space();
  for (double x : {0.0, 0.013, 0.25, 0.5, 0.8125, 0.999, 1.0}) {
    Eigen::VectorXd coordinates(4);
    coordinates << x, x, 0.3, 0.5;
    const Eigen::VectorXd again = space.encode(space.decode(coordinates));
    EXPECT_NEAR(again[0], x, 1e-12);
    EXPECT_NEAR(again[1], x, 1e-12);
    EXPECT_DOUBLE_EQ(again[2], 0.3);
    EXPECT_DOUBLE_EQ(again[3], 0.5);
  }
}

TEST(SearchSpaceTest, WholeVectorRoundTrip) {
  const SearchSpace space = mixed_space();
  const ParameterSet values{{"momentum", 0.9},
                            {"learning_rate", 3e-4},
                            {"warmup", std::int64_t{4}},
                            {"schedule", std::string("cosine")},
                            {"unrelated_fixed_value", 1.0}};
  const ParameterSet decoded = space.decode(space.encode(values));
  ASSERT_EQ(decoded.size(), 4u);
  EXPECT_NEAR(std::get<double>(decoded.at("momentum")), 0.9, 1e-12);
  EXPECT_NEAR(std::get<double>(decoded.at("learning_rate")), 3e-4, 1e-15);
  EXPECT_EQ(std::get<std::int64_t>(decoded.at("warmup")), 4);
  EXPECT_EQ(std::get<std::string>(decoded.at("schedule")), "cosine");
}

TEST(SearchSpaceTest, EncodeRejectsValuesOutsideTheGene) {
  const SearchSpace space = mixed_space();
  expect_config_error([&] { space.encode_gene(0, 0.3); }, {"momentum", "0.5", "0.99", "0.3"});
  expect_config_error([&] { space.encode_gene(0, 1.5); }, {"momentum", "1.5"});
  expect_config_error([&] { space.encode_gene(1, 1.0); }, {"learning_rate"});
  expect_config_error([&] { space.encode_gene(1, std::nan("")); }, {"learning_rate"});
  expect_config_error([&] { space.encode_gene(2, std::int64_t{11}); }, {"warmup", "11"});
  expect_config_error([&] { space.encode_gene(2, 2.5); }, {"warmup", "2.5"});
  expect_config_error([&] { space.encode_gene(3, std::string("linear")); }, {"schedule", "linear"});
  expect_config_error([&] { space.encode_gene(3, 0.5); }, {"schedule"});
  expect_config_error([&] { space.encode_gene(0, std::string("fast")); }, {"momentum", "fast"});
  expect_config_error([&] { space.encode(ParameterSet{{"momentum", 0.9}}); }, {"learning_rate"});
}

TEST(SearchSpaceTest, InvalidSpecsAreRejectedWithTheGeneNamed) {
  expect_config_error([] { SearchSpace({real_gene("beta", 0.0, 1.0), real_gene("beta", 0.0, 2.0)}); },
                      {"beta", "twice"});
  expect_config_error([] { SearchSpace({real_gene("beta", 1.0, 1.0)}); }, {"beta", "low", "high"});
  expect_config_error([] { SearchSpace({real_gene("beta", 2.0, 1.0)}); }, {"beta", "2", "1"});
  expect_config_error([] { SearchSpace({log_gene("learning_rate", 0.0, 1.0)}); }, {"learning_rate", "low > 0"});
  expect_config_error([] { SearchSpace({log_gene("learning_rate", -1.0, 1.0)}); }, {"learning_rate", "-1"});
  expect_config_error([] { SearchSpace({integer_gene("steps", 0.5, 10)}); }, {"steps", "integral", "0.5"});
  expect_config_error([] { SearchSpace({integer_gene("steps", 0, 10.25)}); }, {"steps", "10.25"});
  expect_config_error([] { SearchSpace({choice_gene("schedule", {"cosine"})}); }, {"schedule", "2 choices", "1"});
  expect_config_error([] { SearchSpace({choice_gene("schedule", {})}); }, {"schedule", "0"});
  expect_config_error([] { SearchSpace({choice_gene("schedule", {"cosine", "cosine"})}); }, {"schedule", "cosine"});
  expect_config_error([] { SearchSpace({real_gene("", 0.0, 1.0)}); }, {"name"});
  expect_config_error([] { SearchSpace({real_gene("beta", 0.0, std::nan(""))}); }, {"beta"});
}

TEST(SearchSpaceTest, IndexOfFindsGenesByName) {
  const SearchSpace space = mixed_space();
  EXPECT_EQ(space.size(), 4);
  EXPECT_EQ(space.index_of("warmup"), Eigen::Index{2});
  EXPECT_FALSE(space.index_of("nope").has_value());
}

TEST(SearchSpaceTest, GroupsShareIndicesInOrderOfFirstAppearance) {
  const SearchSpace space({real_gene("a", 0, 1, "betas"), real_gene("b", 0, 1), real_gene("c", 0, 1, "rates"),
                           real_gene("d", 0, 1, "betas"), real_gene("e", 0, 1), real_gene("f", 0, 1, "rates")});
  EXPECT_EQ(space.group_of_gene(), (std::vector<int>{0, 1, 2, 0, 3, 2}));
  EXPECT_EQ(space.group_count(), 4);
  const SearchSpace ungrouped({real_gene("a", 0, 1), real_gene("b", 0, 1)});
  EXPECT_EQ(ungrouped.group_of_gene(), (std::vector<int>{0, 1}));
  EXPECT_EQ(ungrouped.group_count(), 2);
  EXPECT_EQ(SearchSpace().group_count(), 0);
}

TEST(SearchSpaceTest, ParameterAccessorsCheckTypeAndPresence) {
  const ParameterSet parameters{{"beta", 0.9}, {"steps", std::int64_t{7}}, {"schedule", std::string("cosine")}};
  EXPECT_EQ(numeric_parameter(parameters, "beta"), 0.9);
  EXPECT_EQ(numeric_parameter(parameters, "steps"), 7.0);
  EXPECT_EQ(choice_parameter(parameters, "schedule"), "cosine");
  expect_config_error([&] { numeric_parameter(parameters, "schedule"); }, {"schedule", "number", "cosine"});
  expect_config_error([&] { numeric_parameter(parameters, "epsilon"); }, {"epsilon", "missing"});
  expect_config_error([&] { choice_parameter(parameters, "beta"); }, {"beta", "0.9"});
  expect_config_error([&] { choice_parameter(parameters, "decay"); }, {"decay", "missing"});
}

TEST(SearchSpaceTest, FormatsValuesForHumans) {
  EXPECT_EQ(format_gene_value(0.001), "0.001");
  EXPECT_EQ(format_gene_value(1e-5), "1e-05");
  EXPECT_EQ(format_gene_value(0.123456789), "0.123457");
  EXPECT_EQ(format_gene_value(2.0), "2");
  EXPECT_EQ(format_gene_value(std::int64_t{7}), "7");
  EXPECT_EQ(format_gene_value(std::int64_t{-12}), "-12");
  EXPECT_EQ(format_gene_value(std::string("cosine")), "cosine");
}

// ---- blocks of real genes ----

SearchSpace space_with_block() {
  return SearchSpace({GeneSpec{"learning_rate", GeneKind::log_real, 1e-4, 1.0, {}, ""},
                      GeneSpec{"schedule", GeneKind::categorical, 0, 1, {"constant", "cosine"}, ""}},
                     {GeneBlock{"weights", 5, -2.0, 2.0, 1.0, 0.4, "test weights"},
                      GeneBlock{"bias", 2, 0.0, 10.0, 0.0, 1.0, ""}});
}

TEST(SearchSpaceBlocks, CoordinatesAreScalarsThenEachBlockInOrder) {
  const SearchSpace space = space_with_block();
  EXPECT_EQ(space.size(), 2 + 5 + 2);
  EXPECT_EQ(space.scalar_count(), 2);
  EXPECT_EQ(space.block_offset(0), 2);
  EXPECT_EQ(space.block_offset(1), 7);
  EXPECT_EQ(space.block_index_of("bias"), std::optional<std::size_t>(1));
  EXPECT_FALSE(space.block_index_of("learning_rate").has_value());
  EXPECT_EQ(space.coordinate_name(1), "schedule");
  EXPECT_EQ(space.coordinate_name(4), "weights[2]");
  EXPECT_EQ(space.coordinate_name(8), "bias[1]");
  EXPECT_TRUE(space.is_categorical(1));
  EXPECT_FALSE(space.is_categorical(3));
  // Each block is one mutation group, after the scalar genes' groups.
  EXPECT_EQ(space.group_count(), 4);
  EXPECT_EQ(space.group_of_gene(), (std::vector<int>{0, 1, 2, 2, 2, 2, 2, 3, 3}));
}

TEST(SearchSpaceBlocks, DecodeGivesScalarsByNameAndEachBlockAsOneVector) {
  const SearchSpace space = space_with_block();
  Eigen::VectorXd x(9);
  x << 0.0, 0.75, 0.0, 0.25, 0.5, 1.0, 1.5, -0.5, std::nan("");
  const ParameterSet scalars = space.decode(x);
  EXPECT_EQ(scalars.size(), 2u);  // no entry per block element
  EXPECT_EQ(std::get<std::string>(scalars.at("schedule")), "cosine");
  Eigen::VectorXd values;
  space.decode_block(x, 0, values);
  EXPECT_EQ(values, (Eigen::VectorXd(5) << -2.0, -1.0, 0.0, 2.0, 2.0).finished());  // clamped to [0, 1]
  const double* storage = values.data();
  space.decode_block(x, 0, values);
  EXPECT_EQ(values.data(), storage);  // the same length again: no reallocation
  space.decode_block(x, 1, values);
  EXPECT_EQ(values, (Eigen::VectorXd(2) << 0.0, 0.0).finished());  // NaN decodes to the lower bound
  EXPECT_THROW(space.decode_block(Eigen::VectorXd(3), 0, values), Error);
}

TEST(SearchSpaceBlocks, InitialPointAndSpreadComeFromEachBlock) {
  const SearchSpace space = space_with_block();
  const Eigen::VectorXd point = space.initial_point();
  EXPECT_EQ(point[0], 0.5);
  EXPECT_EQ(point[2], 0.75);  // (1 - -2) / 4
  EXPECT_EQ(point[7], 0.0);
  const Eigen::VectorXd spread = space.initial_spread(0.3);
  EXPECT_EQ(spread[1], 0.3);
  EXPECT_EQ(spread[3], 0.1);  // 0.4 / 4
  EXPECT_EQ(spread[8], 0.1);  // 1 / 10
  // encode() places block coordinates at their initial value.
  ParameterSet values{{"learning_rate", 1e-4}, {"schedule", std::string("constant")}};
  EXPECT_EQ(space.encode(values).tail(7), point.tail(7));
}

TEST(SearchSpaceBlocks, BadBlocksAreRefusedNamingTheBlock) {
  const auto expect_refused = [](GeneBlock block, const std::string& words) {
    try {
      SearchSpace space({GeneSpec{"weights", GeneKind::real, 0, 1, {}, ""}}, {std::move(block)});
      ADD_FAILURE() << "expected ConfigError mentioning " << words;
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
  };
  expect_refused(GeneBlock{"w", 0, -1, 1, 0, 0.1, ""}, "gene block \"w\": length must be in [1, 10000000], got 0");
  expect_refused(GeneBlock{"w", 3, 1, 1, 1, 0.1, ""}, "low must be < high");
  expect_refused(GeneBlock{"w", 3, -1, 1, 2, 0.1, ""}, "initial_value must be in [low, high]");
  expect_refused(GeneBlock{"w", 3, -1, 1, 0, 0.0, ""}, "initial_scale must be > 0");
  expect_refused(GeneBlock{"a/b", 3, -1, 1, 0, 0.1, ""}, "without '/'");
  expect_refused(GeneBlock{"weights", 3, -1, 1, 0, 0.1, ""}, "name appears twice");
  expect_refused(GeneBlock{"w", 10'000'000, -1, 1, 0, 0.1, ""}, "more than 10000000 coordinates");
}

}  // namespace
}  // namespace metaevo
