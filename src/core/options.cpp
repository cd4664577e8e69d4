#include "metaevo/core/options.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/registry.hpp"

namespace metaevo {

namespace {

using text::format_number;
using text::joined;

bool is_bounded(double end) { return std::isfinite(end); }

std::string number_text(double value, bool integer) {
  if (integer && std::abs(value) < 9.007199254740992e15) return std::to_string(static_cast<std::int64_t>(value));
  return format_number(value);
}

/// "the integer 4", "the number 2.5", "the string \"x\"": for wrong-type messages.
std::string describe_typed(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) return std::string("the boolean ") + (v ? "true" : "false");
        else if constexpr (std::is_same_v<T, std::int64_t>) return "the integer " + std::to_string(v);
        else if constexpr (std::is_same_v<T, double>) return "the number " + format_number(v);
        else if constexpr (std::is_same_v<T, std::string>) return "the string \"" + v + "\"";
        else return "the list " + format_option_value(v);
      },
      value);
}

std::string items_text(std::size_t min_items, std::size_t max_items) {
  if (max_items == std::numeric_limits<std::size_t>::max()) return "at least " + std::to_string(min_items);
  if (min_items == max_items) return std::to_string(min_items);
  if (max_items == min_items + 1) return std::to_string(min_items) + " or " + std::to_string(max_items);
  return std::to_string(min_items) + " to " + std::to_string(max_items);
}

}  // namespace

bool NumericRange::contains(double value) const {
  if (!std::isfinite(value)) return false;
  const bool above = low_open ? value > low : value >= low;
  const bool below = high_open ? value < high : value <= high;
  return above && below;
}

std::string NumericRange::describe(bool integer) const {
  const bool has_low = is_bounded(low);
  const bool has_high = is_bounded(high);
  if (has_low && has_high) {
    return std::string("in ") + (low_open ? "(" : "[") + number_text(low, integer) + ", " +
           number_text(high, integer) + (high_open ? ")" : "]");
  }
  const std::string finite = integer ? "" : " and finite";
  if (has_low) return (low_open ? "> " : ">= ") + number_text(low, integer) + finite;
  if (has_high) return (high_open ? "< " : "<= ") + number_text(high, integer) + finite;
  return integer ? "an integer" : "finite";
}

std::string OptionSpec::problem(const OptionValue& value) const {
  const auto wrong_type = [&](std::string_view expected) {
    return key + " must be " + std::string(expected) + ", got " + describe_typed(value);
  };
  switch (type) {
    case OptionType::boolean:
      if (!std::holds_alternative<bool>(value)) return wrong_type("a boolean");
      return "";
    case OptionType::integer: {
      const auto* number = std::get_if<std::int64_t>(&value);
      if (number == nullptr) return wrong_type("an integer");
      if (!range.contains(static_cast<double>(*number))) {
        return key + " must be " + range.describe(true) + ", got " + std::to_string(*number);
      }
      return "";
    }
    case OptionType::real: {
      double number = 0.0;
      if (const auto* real = std::get_if<double>(&value)) number = *real;
      else if (const auto* integer = std::get_if<std::int64_t>(&value)) number = static_cast<double>(*integer);
      else return wrong_type("a number");
      if (!range.contains(number)) {
        const bool only_finiteness = std::isinf(number) && (range.low <= number && number <= range.high);
        return key + " must be " + (only_finiteness ? std::string("finite") : range.describe(false)) + ", got " +
               format_number(number);
      }
      return "";
    }
    case OptionType::string: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return wrong_type(choices.empty() ? "a string" : "one of " + joined(choices));
      if (!choices.empty() && std::find(choices.begin(), choices.end(), *text) == choices.end()) {
        return key + " must be one of " + joined(choices) + ", got \"" + *text + "\"" + text::suggestion(*text, choices);
      }
      return "";
    }
    case OptionType::integer_list: {
      const auto* list = std::get_if<std::vector<std::int64_t>>(&value);
      const std::string shape = "an array of " + items_text(min_items, max_items) + " integers " + range.describe(true);
      if (list == nullptr) return wrong_type(shape);
      if (list->size() < min_items || list->size() > max_items) {
        return key + " must be " + shape + ", got " + std::to_string(list->size()) + " items";
      }
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (!range.contains(static_cast<double>((*list)[i]))) {
          return key + "[" + std::to_string(i) + "] must be " + range.describe(true) + ", got " +
                 std::to_string((*list)[i]);
        }
      }
      return "";
    }
    case OptionType::string_list: {
      const auto* list = std::get_if<std::vector<std::string>>(&value);
      const std::string shape = "an array of " + items_text(min_items, max_items) + " strings";
      if (list == nullptr) return wrong_type(shape);
      if (list->size() < min_items || list->size() > max_items) {
        return key + " must be " + shape + ", got " + std::to_string(list->size()) + " items";
      }
      return "";
    }
  }
  return "";
}

std::string OptionSpec::describe_allowed() const {
  switch (type) {
    case OptionType::boolean: return "true or false";
    case OptionType::integer: {
      const std::string allowed = range.describe(true);
      return allowed == "an integer" ? allowed : "integer " + allowed;
    }
    case OptionType::real: return "number " + range.describe(false);
    case OptionType::string: return choices.empty() ? "string" : "one of " + joined(choices);
    case OptionType::integer_list: return items_text(min_items, max_items) + " integers " + range.describe(true);
    case OptionType::string_list: return items_text(min_items, max_items) + " strings";
  }
  return "";
}

namespace {
OptionSpec make_spec(std::string key, OptionType type, OptionValue default_value, std::string help) {
  OptionSpec spec;
  spec.key = std::move(key);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.help = std::move(help);
  return spec;
}
}  // namespace

OptionSpec integer_option(std::string key, std::int64_t default_value, NumericRange range, std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::integer, default_value, std::move(help));
  spec.range = range;
  return spec;
}

OptionSpec real_option(std::string key, double default_value, NumericRange range, std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::real, default_value, std::move(help));
  spec.range = range;
  return spec;
}

OptionSpec boolean_option(std::string key, bool default_value, std::string help) {
  return make_spec(std::move(key), OptionType::boolean, default_value, std::move(help));
}

OptionSpec choice_option(std::string key, std::string default_value, std::vector<std::string> choices,
                         std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::string, std::move(default_value), std::move(help));
  spec.choices = std::move(choices);
  return spec;
}

OptionSpec file_path_option(std::string key, std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::string, std::string(), std::move(help));
  spec.file_path = true;
  return spec;
}

OptionSpec integer_list_option(std::string key, std::vector<std::int64_t> default_value, std::size_t min_items,
                               std::size_t max_items, NumericRange element_range, std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::integer_list, std::move(default_value), std::move(help));
  spec.range = element_range;
  spec.min_items = min_items;
  spec.max_items = max_items;
  return spec;
}

OptionSpec string_list_option(std::string key, std::vector<std::string> default_value, std::size_t min_items,
                              std::size_t max_items, std::string help) {
  OptionSpec spec = make_spec(std::move(key), OptionType::string_list, std::move(default_value), std::move(help));
  spec.min_items = min_items;
  spec.max_items = max_items;
  return spec;
}

std::string format_option_value(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<T, double>) return format_number(v);
        else if constexpr (std::is_same_v<T, std::string>) return "\"" + v + "\"";
        else {
          std::vector<std::string> items;
          for (const auto& item : v) {
            if constexpr (std::is_same_v<T, std::vector<std::string>>) items.push_back("\"" + item + "\"");
            else items.push_back(std::to_string(item));
          }
          std::string text = "[";  // appended, not "[" + ...: GCC 12 -Wrestrict false positive
          text += joined(items);
          text += ']';
          return text;
        }
      },
      value);
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const OptionValue& Options::value(std::string_view key) const {
  const auto found = values_.find(key);
  if (found == values_.end()) throw Error("option \"" + std::string(key) + "\" is not set");
  return found->second;
}

namespace {
template <class T>
const T& typed(const OptionValue& value, std::string_view key, std::string_view type_name) {
  const T* found = std::get_if<T>(&value);
  if (found == nullptr) {
    throw Error("option \"" + std::string(key) + "\" is not " + std::string(type_name) + ": " +
                format_option_value(value));
  }
  return *found;
}
}  // namespace

bool Options::boolean(std::string_view key) const { return typed<bool>(value(key), key, "a boolean"); }
std::int64_t Options::integer(std::string_view key) const { return typed<std::int64_t>(value(key), key, "an integer"); }
double Options::real(std::string_view key) const {
  const OptionValue& found = value(key);
  if (const auto* integer = std::get_if<std::int64_t>(&found)) return static_cast<double>(*integer);
  return typed<double>(found, key, "a number");
}
const std::string& Options::string(std::string_view key) const {
  return typed<std::string>(value(key), key, "a string");
}
const std::vector<std::int64_t>& Options::integer_list(std::string_view key) const {
  return typed<std::vector<std::int64_t>>(value(key), key, "an integer list");
}
const std::vector<std::string>& Options::string_list(std::string_view key) const {
  return typed<std::vector<std::string>>(value(key), key, "a string list");
}

// ---------------------------------------------------------------------------------------------
// OptionSchema
// ---------------------------------------------------------------------------------------------

OptionSchema::OptionSchema(std::initializer_list<OptionSpec> specs) : OptionSchema(std::vector<OptionSpec>(specs)) {}

OptionSchema::OptionSchema(std::vector<OptionSpec> specs) : specs_(std::move(specs)) {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const OptionSpec& spec = specs_[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (specs_[j].key == spec.key) throw ConfigError("option schema: key \"" + spec.key + "\" is listed twice");
    }
    if (spec.key.empty()) throw ConfigError("option schema: a key is empty");
    const std::string problem = spec.problem(spec.default_value);
    if (!problem.empty()) throw ConfigError("option schema: the default of " + problem);
  }
}

const OptionSpec* OptionSchema::find(std::string_view key) const {
  for (const OptionSpec& spec : specs_) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

std::vector<std::string> OptionSchema::keys() const {
  std::vector<std::string> list;
  for (const OptionSpec& spec : specs_) list.push_back(spec.key);
  return list;
}

Options OptionSchema::resolve(const std::map<std::string, OptionValue, std::less<>>& given,
                              std::string_view context) const {
  const std::string prefix = context.empty() ? std::string() : std::string(context) + ": ";
  std::map<std::string, OptionValue, std::less<>> values;
  for (const auto& [key, value] : given) {
    const OptionSpec* spec = find(key);
    if (spec == nullptr) {
      throw ConfigError(prefix + "unknown key " + key + text::suggestion(key, keys()) + "; keys: " + joined(keys()));
    }
    const std::string problem = spec->problem(value);
    if (!problem.empty()) throw ConfigError(prefix + problem);
    // A real given as an integer is stored as a double, so getters see one type per key.
    if (spec->type == OptionType::real && std::holds_alternative<std::int64_t>(value)) {
      values[key] = static_cast<double>(std::get<std::int64_t>(value));
    } else {
      values[key] = value;
    }
  }
  for (const OptionSpec& spec : specs_) values.try_emplace(spec.key, spec.default_value);
  return Options(std::move(values));
}

// ---------------------------------------------------------------------------------------------
// Registry messages
// ---------------------------------------------------------------------------------------------

namespace registry_detail {

void throw_duplicate(std::string_view what, std::string_view name) {
  if (name.empty()) throw ConfigError("cannot register a " + std::string(what) + " without a name");
  throw ConfigError(std::string(what) + " \"" + std::string(name) + "\" is already registered");
}

void throw_unknown(std::string_view what, std::string_view name, const std::vector<std::string>& known) {
  throw ConfigError("unknown " + std::string(what) + " \"" + std::string(name) + "\"" +
                    text::suggestion(name, known) + "; known: " + joined(known));
}

}  // namespace registry_detail

}  // namespace metaevo
