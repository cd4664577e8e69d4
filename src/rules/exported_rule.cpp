// The exported update rule: JSON written by `metaevo export`, read back by any program that links
// metaevo.
#include "metaevo/rules/exported_rule.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <variant>

#include "metaevo/core/error.hpp"
#include "core/json_excerpt.hpp"
#include "core/text_format.hpp"

namespace metaevo {
namespace {

using text::joined;

using Json = nlohmann::ordered_json;  // keeps the documented key order in the output

const std::string json_context = "update rule JSON";

ConfigError json_error(const std::string& message) { return ConfigError(json_context + ": " + message); }

/// "the string \"x\"", "an array", ... for error messages.
std::string describe_json(const Json& value) {
  return std::string(value.type_name()) + " " + json_excerpt(value, 40);
}

void reject_unknown_keys(const Json& object, const std::vector<std::string>& allowed, const std::string& where) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      throw json_error("unknown field \"" + where + item.key() + "\"; allowed: " + joined(allowed, ", "));
    }
  }
}

const Json& required_field(const Json& object, const std::string& name) {
  const auto found = object.find(name);
  if (found == object.end()) throw json_error("missing field \"" + name + "\"");
  return *found;
}

std::int64_t integer_field(const Json& value, const std::string& name) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw json_error("field \"" + name + "\" is too large for a 64-bit integer: " + value.dump());
    }
    return value.get<std::int64_t>();
  }
  throw json_error("field \"" + name + "\" must be an integer, got " + describe_json(value));
}

std::string string_field(const Json& value, const std::string& name) {
  if (!value.is_string()) throw json_error("field \"" + name + "\" must be a string, got " + describe_json(value));
  return value.get<std::string>();
}

Json to_json_value(const GeneValue& value) {
  if (const auto* real = std::get_if<double>(&value)) return Json(*real);
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return Json(*integer);
  return Json(std::get<std::string>(value));
}

GeneValue hyperparameter_value(const Json& value, const HyperparameterInfo& info, const std::string& field) {
  if (!info.choices.empty()) {
    if (!value.is_string()) {
      throw json_error("field \"" + field + "\" must be one of the strings " + joined(info.choices, ", ") + ", got " +
                       describe_json(value));
    }
    return value.get<std::string>();
  }
  if (value.is_number_float()) return value.get<double>();
  if (value.is_number_integer()) return integer_field(value, field);
  throw json_error("field \"" + field + "\" must be a number in " + info.range + ", got " + describe_json(value));
}

ParameterSet hyperparameters_from_json(const Json& object, const std::string& family) {
  if (!object.is_object()) {
    throw json_error("field \"hyperparameters\" must be an object of name: value, got " + describe_json(object));
  }
  const std::vector<HyperparameterInfo>& known = update_rule_hyperparameters(family);
  ParameterSet hyperparameters;
  for (const auto& item : object.items()) {
    const std::string field = "hyperparameters." + item.key();
    const auto info = std::find_if(known.begin(), known.end(),
                                   [&item](const HyperparameterInfo& h) { return h.name == item.key(); });
    if (info == known.end()) {
      std::vector<std::string> names;
      for (const HyperparameterInfo& h : known) names.push_back(h.name);
      throw json_error("field \"" + field + "\": update rule \"" + family + "\" has no hyperparameter \"" +
                       item.key() + "\"; valid names: " + joined(names, ", "));
    }
    hyperparameters[item.key()] = hyperparameter_value(item.value(), *info, field);
  }
  return hyperparameters;
}

void read_source(const Json& source, ExportedUpdateRule& rule) {
  if (!source.is_object()) throw json_error("field \"source\" must be an object, got " + describe_json(source));
  reject_unknown_keys(source, {"run_file", "genome_id", "generation", "fitness"}, "source.");
  if (const auto found = source.find("run_file"); found != source.end()) {
    rule.run_file = string_field(*found, "source.run_file");
  }
  if (const auto found = source.find("genome_id"); found != source.end()) {
    rule.genome_id = integer_field(*found, "source.genome_id");
  }
  if (const auto found = source.find("generation"); found != source.end()) {
    rule.generation = integer_field(*found, "source.generation");
  }
  if (const auto found = source.find("fitness"); found != source.end()) {
    if (found->is_null()) {
      rule.fitness = std::numeric_limits<double>::quiet_NaN();
    } else if (found->is_number()) {
      rule.fitness = found->get<double>();
    } else {
      throw json_error("field \"source.fitness\" must be a number or null, got " + describe_json(*found));
    }
  }
}


Json option_to_json(const OptionValue& value) {
  return std::visit([](const auto& v) { return Json(v); }, value);
}

/// "architecture": each key of the family's schema as its declared type; defaults for the rest.
Options architecture_from_json(const Json& object, const std::string& family) {
  if (!object.is_object()) throw json_error("field \"architecture\" must be an object, got " + describe_json(object));
  const OptionSchema& schema = update_rule_registry().find(family).architecture;
  std::map<std::string, OptionValue, std::less<>> given;
  for (const auto& item : object.items()) {
    const std::string field = "architecture." + item.key();
    const OptionSpec* spec = schema.find(item.key());
    if (spec == nullptr) {
      throw json_error("field \"" + field + "\": update rule \"" + family + "\" has no architecture option \"" +
                       item.key() + "\"" + (schema.keys().empty() ? "" : "; valid names: " + joined(schema.keys(), ", ")));
    }
    const Json& value = item.value();
    const std::string expected = "field \"" + field + "\" must be " + spec->describe_allowed() + ", got ";
    switch (spec->type) {
      case OptionType::boolean:
        if (!value.is_boolean()) throw json_error(expected + describe_json(value));
        given[item.key()] = value.get<bool>();
        break;
      case OptionType::integer:
        given[item.key()] = integer_field(value, field);
        break;
      case OptionType::real:
        if (!value.is_number()) throw json_error(expected + describe_json(value));
        given[item.key()] = value.get<double>();
        break;
      case OptionType::string:
        given[item.key()] = string_field(value, field);
        break;
      case OptionType::integer_list: {
        if (!value.is_array()) throw json_error(expected + describe_json(value));
        std::vector<std::int64_t> items;
        for (const Json& element : value) items.push_back(integer_field(element, field));
        given[item.key()] = std::move(items);
        break;
      }
      case OptionType::string_list: {
        if (!value.is_array()) throw json_error(expected + describe_json(value));
        std::vector<std::string> items;
        for (const Json& element : value) items.push_back(string_field(element, field));
        given[item.key()] = std::move(items);
        break;
      }
    }
  }
  try {
    return schema.resolve(given, "architecture");
  } catch (const ConfigError& error) {
    throw json_error(error.what());
  }
}

/// "blocks": every block the family declares for the architecture, with its length; values finite
/// numbers. A family without blocks must not have the field.
std::vector<std::pair<std::string, Eigen::VectorXd>> blocks_from_json(const Json& document, const std::string& family,
                                                                      const Options& architecture) {
  std::vector<GeneBlock> declared;
  try {
    declared = update_rule_gene_blocks(family, architecture);
  } catch (const ConfigError& error) {
    throw json_error(error.what());
  }
  const auto found = document.find("blocks");
  if (declared.empty()) {
    if (found != document.end() && !(found->is_object() && found->empty())) {
      throw json_error("field \"blocks\": update rule \"" + family + "\" declares no gene blocks");
    }
    return {};
  }
  if (found == document.end()) throw json_error("missing field \"blocks\" (update rule \"" + family + "\" has gene blocks)");
  if (!found->is_object()) throw json_error("field \"blocks\" must be an object of name: [values], got " + describe_json(*found));
  std::vector<std::string> names;
  for (const GeneBlock& block : declared) names.push_back(block.name);
  reject_unknown_keys(*found, names, "blocks.");
  std::vector<std::pair<std::string, Eigen::VectorXd>> blocks;
  for (const GeneBlock& block : declared) {
    const std::string field = "blocks." + block.name;
    const auto values = found->find(block.name);
    if (values == found->end()) throw json_error("missing field \"" + field + "\"");
    if (!values->is_array() || static_cast<std::int64_t>(values->size()) != block.length) {
      throw json_error("field \"" + field + "\" must be an array of " + std::to_string(block.length) +
                       " numbers for this architecture, got " + describe_json(*values));
    }
    Eigen::VectorXd vector(block.length);
    for (Eigen::Index i = 0; i < block.length; ++i) {
      const Json& element = (*values)[static_cast<std::size_t>(i)];
      if (!element.is_number() || !std::isfinite(element.get<double>())) {
        throw json_error("field \"" + field + "\"[" + std::to_string(i) + "] must be a finite number, got " +
                         describe_json(element));
      }
      vector(i) = element.get<double>();
    }
    blocks.emplace_back(block.name, std::move(vector));
  }
  return blocks;
}

}  // namespace

std::string to_json(const ExportedUpdateRule& rule) {
  Json hyperparameters = Json::object();
  for (const auto& [name, value] : rule.hyperparameters) hyperparameters[name] = to_json_value(value);
  Json source = Json::object();
  source["run_file"] = rule.run_file;
  source["genome_id"] = rule.genome_id;
  source["generation"] = rule.generation;
  source["fitness"] = std::isfinite(rule.fitness) ? Json(rule.fitness) : Json(nullptr);

  Json document = Json::object();
  document["format"] = exported_update_rule_format;
  document["version"] = exported_update_rule_version;
  document["family"] = rule.family;
  document["hyperparameters"] = std::move(hyperparameters);
  if (!rule.architecture.values().empty()) {
    Json architecture = Json::object();
    for (const auto& [key, value] : rule.architecture.values()) architecture[key] = option_to_json(value);
    document["architecture"] = std::move(architecture);
  }
  if (!rule.blocks.empty()) {
    Json blocks = Json::object();
    for (const auto& [name, values] : rule.blocks) blocks[name] = std::vector<double>(values.begin(), values.end());
    document["blocks"] = std::move(blocks);
  }
  if (!rule.definition.empty()) document["definition"] = rule.definition;
  document["inner_steps"] = rule.inner_steps;
  document["source"] = std::move(source);
  return document.dump(2) + "\n";
}

ExportedUpdateRule update_rule_from_json(std::string_view json_text) {
  Json document;
  try {
    // A rule nests 3 levels deep (blocks.NAME[i]). nlohmann copies, converts and prints a value
    // recursively, once per level: a document nested 100 000 deep would overflow the stack.
    constexpr int max_depth = 16;
    document = Json::parse(json_text.begin(), json_text.end(), [](int depth, Json::parse_event_t, Json&) {
      if (depth > max_depth) {
        throw json_error("not a rule: JSON nested deeper than " + std::to_string(max_depth) + " levels");
      }
      return true;
    });
  } catch (const Json::exception& error) {  // parse_error, or out_of_range for a number like 1E400
    std::string reason = error.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag: the rest says where and why.
    if (const auto tag_end = reason.find("] "); reason.rfind("[json.exception", 0) == 0 && tag_end != std::string::npos) {
      reason = reason.substr(tag_end + 2);
    }
    throw json_error("not valid JSON: " + reason);
  }
  if (!document.is_object()) throw json_error("expected a JSON object, got " + describe_json(document));
  reject_unknown_keys(document,
                      {"format", "version", "family", "hyperparameters", "architecture", "blocks", "definition",
                       "inner_steps", "source"},
                      "");

  const std::string format = string_field(required_field(document, "format"), "format");
  if (format != exported_update_rule_format) {
    throw json_error("field \"format\" must be \"" + std::string(exported_update_rule_format) + "\", got \"" +
                     format + "\"");
  }
  const std::int64_t version = integer_field(required_field(document, "version"), "version");
  if (version != 1 && version != exported_update_rule_version) {
    throw json_error("field \"version\" must be 1 or " + std::to_string(exported_update_rule_version) +
                     " (the versions this metaevo reads), got " + std::to_string(version));
  }

  ExportedUpdateRule rule;
  rule.family = string_field(required_field(document, "family"), "family");
  const auto& families = update_rule_families();
  if (std::find(families.begin(), families.end(), rule.family) == families.end()) {
    throw json_error("field \"family\" must be one of " + joined(families, ", ") + ", got \"" + rule.family + "\"");
  }
  rule.hyperparameters = hyperparameters_from_json(required_field(document, "hyperparameters"), rule.family);
  const auto architecture = document.find("architecture");
  rule.architecture = architecture_from_json(architecture == document.end() ? Json::object() : *architecture,
                                             rule.family);
  rule.blocks = blocks_from_json(document, rule.family, rule.architecture);
  if (const auto definition = document.find("definition"); definition != document.end()) {
    rule.definition = string_field(*definition, "definition");
  }
  rule.inner_steps = integer_field(required_field(document, "inner_steps"), "inner_steps");
  if (rule.inner_steps < 1) {
    throw json_error("field \"inner_steps\" must be >= 1, got " + std::to_string(rule.inner_steps));
  }
  if (const auto source = document.find("source"); source != document.end()) read_source(*source, rule);

  // Ranges are the update rule's to check: building it once validates every value.
  try {
    make_update_rule(rule);
  } catch (const ConfigError& error) {
    throw json_error(error.what());
  }
  return rule;
}

ExportedUpdateRule exported_rule(std::string_view family, const RuleParameters& parameters) {
  const UpdateRuleRegistration& registration = update_rule_registry().find(family);
  ExportedUpdateRule rule;
  rule.family = registration.name;
  rule.hyperparameters = default_hyperparameters(family);
  for (const auto& [name, value] : parameters.hyperparameters) rule.hyperparameters[name] = value;
  rule.architecture = update_rule_architecture(family, parameters.architecture.values());
  const std::vector<GeneBlock> blocks = update_rule_gene_blocks(family, rule.architecture);
  const std::vector<Eigen::VectorXd> values =
      parameters.blocks.empty() ? initial_block_values(blocks) : parameters.blocks;
  if (values.size() != blocks.size()) {
    throw ConfigError("update rule \"" + rule.family + "\": got " + std::to_string(values.size()) +
                      " gene blocks, the family declares " + std::to_string(blocks.size()));
  }
  for (std::size_t b = 0; b < blocks.size(); ++b) rule.blocks.emplace_back(blocks[b].name, values[b]);
  rule.inner_steps = parameters.inner_steps;
  rule.definition = registration.definition;
  return rule;
}

RuleParameters rule_parameters(const ExportedUpdateRule& rule) {
  RuleParameters parameters;
  parameters.hyperparameters = rule.hyperparameters;
  for (const auto& [name, values] : rule.blocks) parameters.blocks.push_back(values);
  parameters.architecture = rule.architecture;
  parameters.inner_steps = rule.inner_steps;
  return parameters;
}

std::unique_ptr<UpdateRule> make_update_rule(const ExportedUpdateRule& rule) {
  return make_update_rule(rule.family, rule_parameters(rule));
}

}  // namespace metaevo
