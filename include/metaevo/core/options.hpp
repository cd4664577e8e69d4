#pragma once
// Typed options with a schema: what a registered family (a task family, an update rule's
// architecture) accepts. The schema is the one place a family's keys, types, defaults, ranges and
// one-line help live; the config reader, `metaevo check` and the docs all read it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "metaevo/core/enum_names.hpp"

namespace metaevo {

/// One option value. A config integer is accepted where a real is expected (it becomes a double).
using OptionValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<std::string>>;

enum class OptionType { boolean, integer, real, string, integer_list, string_list };
template <>
struct EnumNames<OptionType> {
  static constexpr std::array<EnumName<OptionType>, 6> table{{
      {OptionType::boolean, "boolean"},
      {OptionType::integer, "integer"},
      {OptionType::real, "number"},
      {OptionType::string, "string"},
      {OptionType::integer_list, "integer list"},
      {OptionType::string_list, "string list"},
  }};
};

/// A numeric interval with open or closed ends; unbounded ends are infinite. NaN is never inside,
/// and neither is an infinite value.
struct NumericRange {
  double low = -std::numeric_limits<double>::infinity();
  bool low_open = false;
  double high = std::numeric_limits<double>::infinity();
  bool high_open = false;

  static NumericRange any() { return {}; }
  static NumericRange at_least(double low) { return make(low, false, infinity(), false); }
  static NumericRange greater_than(double low) { return make(low, true, infinity(), false); }
  static NumericRange closed(double low, double high) { return make(low, false, high, false); }
  static NumericRange closed_open(double low, double high) { return make(low, false, high, true); }
  static NumericRange make(double low, bool low_open, double high, bool high_open) {
    NumericRange range;
    range.low = low;
    range.low_open = low_open;
    range.high = high;
    range.high_open = high_open;
    return range;
  }
  static constexpr double infinity() { return std::numeric_limits<double>::infinity(); }

  bool contains(double value) const;
  /// What "must be ..." says: "in [1, 2000]", "in [0, 0.5)", ">= 1", "> 0 and finite" (reals), "finite".
  std::string describe(bool integer) const;
};

/// One key of a schema.
struct OptionSpec {
  std::string key;
  OptionType type = OptionType::real;
  OptionValue default_value = 0.0;
  NumericRange range;                  // integer, real, and each element of an integer_list
  std::vector<std::string> choices;    // string: the allowed values (empty = any string)
  std::size_t min_items = 0;           // integer_list, string_list: allowed length
  std::size_t max_items = std::numeric_limits<std::size_t>::max();
  std::string help;                    // one line, for `metaevo check` and docs
  bool file_path = false;              // string: a file path; the config reader resolves a relative
                                       // one against the directory of the config file

  /// "", or why `value` is not acceptable, starting with the key: "dimension must be in [1, 2000],
  /// got 5000", "hidden_layers[1] must be in [1, 10000], got 0", "activation must be one of tanh,
  /// relu, got \"sigmoid\"", "classes must be an integer, got the number 2.5".
  std::string problem(const OptionValue& value) const;
  /// The allowed values as one phrase for listings: "integer in [1, 2000]", "one of tanh, relu".
  std::string describe_allowed() const;
};

// Builders for the common kinds of option.
OptionSpec integer_option(std::string key, std::int64_t default_value, NumericRange range, std::string help);
OptionSpec real_option(std::string key, double default_value, NumericRange range, std::string help);
OptionSpec boolean_option(std::string key, bool default_value, std::string help);
OptionSpec choice_option(std::string key, std::string default_value, std::vector<std::string> choices,
                         std::string help);
/// A file path (a string, "" by default = not given); see OptionSpec::file_path.
OptionSpec file_path_option(std::string key, std::string help);
OptionSpec integer_list_option(std::string key, std::vector<std::int64_t> default_value, std::size_t min_items,
                               std::size_t max_items, NumericRange element_range, std::string help);
OptionSpec string_list_option(std::string key, std::vector<std::string> default_value, std::size_t min_items,
                              std::size_t max_items, std::string help);

/// Text of a value for messages: `4`, `2.5`, `"tanh"`, `true`, `[16, 8]`, `["python3", "train.py"]`.
std::string format_option_value(const OptionValue& value);

/// Every option after validation: each key of the schema, given or defaulted. Factories read what
/// they need once, when they are built (never per inner step).
class Options {
 public:
  Options() = default;
  explicit Options(std::map<std::string, OptionValue, std::less<>> values) : values_(std::move(values)) {}

  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  const OptionValue& value(std::string_view key) const;  // Error when absent
  // Typed getters; Error when the key is absent or of another type (a schema/factory mismatch).
  bool boolean(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  double real(std::string_view key) const;  // an integer value is converted
  const std::string& string(std::string_view key) const;
  const std::vector<std::int64_t>& integer_list(std::string_view key) const;
  const std::vector<std::string>& string_list(std::string_view key) const;

  void set(std::string key, OptionValue value) { values_[std::move(key)] = std::move(value); }
  const std::map<std::string, OptionValue, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, OptionValue, std::less<>> values_;
};

/// The keys a family accepts, in the order listings show them.
class OptionSchema {
 public:
  OptionSchema() = default;
  OptionSchema(std::initializer_list<OptionSpec> specs);
  explicit OptionSchema(std::vector<OptionSpec> specs);

  const std::vector<OptionSpec>& specs() const { return specs_; }
  const OptionSpec* find(std::string_view key) const;
  std::vector<std::string> keys() const;

  /// Validates `given` (unknown keys with a did-you-mean, types, ranges; an integer for a real is
  /// converted) and fills in the defaults of the keys not given. Throws ConfigError
  /// "<context>: KEY must be RANGE, got VALUE" (context omitted when empty).
  Options resolve(const std::map<std::string, OptionValue, std::less<>>& given, std::string_view context = "") const;

 private:
  std::vector<OptionSpec> specs_;
};

}  // namespace metaevo
