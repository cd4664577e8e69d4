// The shared helpers families are declared with: enum names, option schemas, registries.
#include <gtest/gtest.h>

#include <string>

#include "metaevo/core/enum_names.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/options.hpp"
#include "metaevo/core/registry.hpp"

namespace metaevo {

enum class Fruit { apple, pear, fig };
template <>
struct EnumNames<Fruit> {
  static constexpr std::array<EnumName<Fruit>, 3> table{{
      {Fruit::apple, "apple"},
      {Fruit::pear, "pear"},
      {Fruit::fig, "dried-fig"},
  }};
};

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(EnumNamesTest, RoundTripsEveryValue) {
  for (Fruit fruit : enum_values<Fruit>()) EXPECT_EQ(from_string<Fruit>(to_string(fruit)), fruit);
  EXPECT_EQ(to_string(Fruit::fig), "dried-fig");
  EXPECT_EQ(enum_names<Fruit>(), (std::vector<std::string>{"apple", "pear", "dried-fig"}));
  EXPECT_FALSE(from_string<Fruit>("Apple").has_value());
  EXPECT_FALSE(from_string<Fruit>("").has_value());
  EXPECT_EQ(to_string(static_cast<Fruit>(17)), "unknown");
  static_assert(to_string(Fruit::pear) == "pear");
  static_assert(*from_string<Fruit>("apple") == Fruit::apple);
}

const OptionSchema& example_schema() {
  static const OptionSchema schema{
      integer_option("dimension", 10, NumericRange::closed(1, 2000), "parameters"),
      real_option("noise", 0.1, NumericRange::closed_open(0.0, 0.5), "label flip probability"),
      real_option("scale", 1.0, NumericRange::greater_than(0.0), "initial spread"),
      choice_option("activation", "tanh", {"tanh", "relu"}, "hidden nonlinearity"),
      integer_list_option("hidden_layers", {16}, 1, 2, NumericRange::closed(1, 10000), "widths"),
      boolean_option("bias", true, "with a bias"),
  };
  return schema;
}

TEST(OptionSchemaTest, ResolveFillsDefaultsAndConvertsIntegersToReals) {
  const Options options = example_schema().resolve({{"dimension", std::int64_t{7}}, {"scale", std::int64_t{2}}});
  EXPECT_EQ(options.integer("dimension"), 7);
  EXPECT_EQ(options.real("scale"), 2.0);
  EXPECT_TRUE(std::holds_alternative<double>(options.value("scale")));
  EXPECT_EQ(options.real("noise"), 0.1);
  EXPECT_EQ(options.string("activation"), "tanh");
  EXPECT_EQ(options.integer_list("hidden_layers"), (std::vector<std::int64_t>{16}));
  EXPECT_TRUE(options.boolean("bias"));
  EXPECT_THROW((void)options.string("dimension"), Error);
  EXPECT_THROW((void)options.integer("missing"), Error);
}

TEST(OptionSchemaTest, MessagesNameKeyRangeAndValue) {
  const OptionSchema& schema = example_schema();
  EXPECT_EQ(error_of([&] { schema.resolve({{"dimension", std::int64_t{5000}}}, "task family 'x'"); }),
            "task family 'x': dimension must be in [1, 2000], got 5000");
  EXPECT_EQ(error_of([&] { schema.resolve({{"noise", 0.5}}); }), "noise must be in [0, 0.5), got 0.5");
  EXPECT_EQ(error_of([&] { schema.resolve({{"scale", 0.0}}); }), "scale must be > 0 and finite, got 0");
  EXPECT_EQ(error_of([&] { schema.resolve({{"dimension", 2.5}}); }),
            "dimension must be an integer, got the number 2.5");
  EXPECT_EQ(error_of([&] { schema.resolve({{"activation", std::string("sigmoid")}}); }),
            "activation must be one of tanh, relu, got \"sigmoid\"");
  EXPECT_EQ(error_of([&] { schema.resolve({{"hidden_layers", std::vector<std::int64_t>{4, 0}}}); }),
            "hidden_layers[1] must be in [1, 10000], got 0");
  EXPECT_EQ(error_of([&] { schema.resolve({{"hidden_layers", std::vector<std::int64_t>{1, 2, 3}}}); }),
            "hidden_layers must be an array of 1 or 2 integers in [1, 10000], got 3 items");
  EXPECT_EQ(error_of([&] { schema.resolve({{"dimesion", std::int64_t{3}}}); }),
            "unknown key dimesion (did you mean dimension?); keys: dimension, noise, scale, activation, "
            "hidden_layers, bias");
  EXPECT_EQ(error_of([&] { schema.resolve({{"noise", std::numeric_limits<double>::quiet_NaN()}}); }),
            "noise must be in [0, 0.5), got nan");
}

TEST(OptionSchemaTest, RejectsBadDeclarations) {
  EXPECT_THROW(OptionSchema({integer_option("a", 0, NumericRange::at_least(1), "")}), ConfigError);
  EXPECT_THROW(OptionSchema({boolean_option("a", true, ""), boolean_option("a", false, "")}), ConfigError);
  EXPECT_EQ(example_schema().find("noise")->describe_allowed(), "number in [0, 0.5)");
  EXPECT_EQ(example_schema().find("dimension")->describe_allowed(), "integer in [1, 2000]");
}

TEST(OptionSchemaTest, StringListsHoldStringsWithinTheirLength) {
  const OptionSchema schema{string_list_option("command", {"true"}, 1, 3, "the program and its arguments")};
  EXPECT_EQ(schema.resolve({}).string_list("command"), (std::vector<std::string>{"true"}));
  const std::vector<std::string> given{"python3", "train.py"};
  EXPECT_EQ(schema.resolve({{"command", given}}).string_list("command"), given);
  EXPECT_EQ(format_option_value(given), "[\"python3\", \"train.py\"]");
  EXPECT_EQ(error_of([&] { schema.resolve({{"command", std::vector<std::string>{}}}); }),
            "command must be an array of 1 to 3 strings, got 0 items");
  EXPECT_EQ(error_of([&] { schema.resolve({{"command", std::string("python3")}}); }),
            "command must be an array of 1 to 3 strings, got the string \"python3\"");
  EXPECT_EQ(schema.find("command")->describe_allowed(), "1 to 3 strings");
  EXPECT_THROW((void)schema.resolve({}).integer_list("command"), Error);
}

struct Named {
  std::string name;
  int payload = 0;
};

TEST(RegistryTest, RefusesDuplicatesAndListsKnownNames) {
  Registry<Named> registry("widget");
  const Named& first = registry.add({"alpha", 1});
  registry.add({"beta", 2});
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"alpha", "beta"}));
  for (int i = 0; i < 100; ++i) registry.add({"extra" + std::to_string(i), i});
  EXPECT_EQ(first.payload, 1);  // references survive later registrations
  EXPECT_EQ(error_of([&] { registry.add({"beta", 3}); }), "widget \"beta\" is already registered");
  EXPECT_THROW(registry.add({"", 3}), ConfigError);
  EXPECT_EQ(registry.find("beta").payload, 2);
  const std::string unknown = error_of([&] { registry.find("alpah"); });
  EXPECT_TRUE(contains(unknown, "unknown widget \"alpah\" (did you mean alpha?); known: alpha, beta, extra0"))
      << unknown;
}

}  // namespace
}  // namespace metaevo
