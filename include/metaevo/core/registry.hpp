#pragma once
// A named collection of families (task families, update rules): registration in one place, lookup
// by name with a helpful error, names in registration order.
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metaevo {

namespace registry_detail {
[[noreturn]] void throw_duplicate(std::string_view what, std::string_view name);
[[noreturn]] void throw_unknown(std::string_view what, std::string_view name, const std::vector<std::string>& known);
}  // namespace registry_detail

/// Entries need a `std::string name`. References returned by find() stay valid as entries are added.
/// Not synchronized: register everything before a run starts (lookups may then come from any thread).
template <class Entry>
class Registry {
 public:
  /// `what` names an entry in messages, e.g. "task family".
  explicit Registry(std::string what) : what_(std::move(what)) {}

  /// Throws ConfigError when the name is empty or already registered.
  const Entry& add(Entry entry) {
    if (entry.name.empty() || contains(entry.name)) registry_detail::throw_duplicate(what_, entry.name);
    entries_.push_back(std::move(entry));
    return entries_.back();
  }

  bool contains(std::string_view name) const { return find_if_present(name) != nullptr; }

  const Entry* find_if_present(std::string_view name) const {
    for (const Entry& entry : entries_) {
      if (entry.name == name) return &entry;
    }
    return nullptr;
  }

  /// Throws ConfigError `unknown task family "quadratc" (did you mean quadratic?); known: a, b, c`.
  const Entry& find(std::string_view name) const {
    if (const Entry* entry = find_if_present(name)) return *entry;
    registry_detail::throw_unknown(what_, name, names());
  }

  std::vector<std::string> names() const {
    std::vector<std::string> list;
    for (const Entry& entry : entries_) list.push_back(entry.name);
    return list;
  }

  const std::deque<Entry>& entries() const { return entries_; }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  std::deque<Entry> entries_;
};

}  // namespace metaevo
