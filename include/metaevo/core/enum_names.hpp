#pragma once
// Enum <-> name conversions, written once. An enum gets names by specializing EnumNames next to its
// declaration:
//
//   enum class Colour { red, green };
//   template <> struct EnumNames<Colour> {
//     static constexpr std::array<EnumName<Colour>, 2> table{{{Colour::red, "red"}, {Colour::green, "green"}}};
//   };
//
// after which to_string(Colour::red) == "red", from_string<Colour>("green") == Colour::green and
// enum_names<Colour>() == {"red", "green"} (in table order, which is also the order messages list them).
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace metaevo {

template <class Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

/// Specialize with `static constexpr std::array<EnumName<Enum>, N> table` for each named enum.
template <class Enum>
struct EnumNames;

template <class Enum>
concept NamedEnum = requires { EnumNames<Enum>::table; };

/// The enum's name, or "unknown" for a value outside the table.
template <NamedEnum Enum>
constexpr std::string_view to_string(Enum value) {
  for (const auto& entry : EnumNames<Enum>::table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

/// The value of an exact (case-sensitive) name, or nullopt.
template <NamedEnum Enum>
constexpr std::optional<Enum> from_string(std::string_view text) {
  for (const auto& entry : EnumNames<Enum>::table) {
    if (entry.name == text) return entry.value;
  }
  return std::nullopt;
}

/// Every name, in table order.
template <NamedEnum Enum>
std::vector<std::string> enum_names() {
  std::vector<std::string> names;
  for (const auto& entry : EnumNames<Enum>::table) names.emplace_back(entry.name);
  return names;
}

/// Every value, in table order.
template <NamedEnum Enum>
std::vector<Enum> enum_values() {
  std::vector<Enum> values;
  for (const auto& entry : EnumNames<Enum>::table) values.push_back(entry.value);
  return values;
}

}  // namespace metaevo
