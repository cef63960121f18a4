#include "guided/json_schema.h"

#include <climits>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "guided/json_parts.h"
#include "guided/json_schema_merge.h"
#include "guided/regex_parser.h"

namespace pagoda {
namespace {

using Json = SchemaJson;

// Bounds beyond this are not turned into digit patterns.
constexpr double kMaxBound = 1e15;
// Referenced subschemas bigger than this become shared rules instead of
// being copied into every place that uses them.
constexpr int kInlineRefLimit = 400;

const std::set<std::string>& HandledKeywords() {
  static const std::set<std::string> k = {
      "type",     "enum",      "const",      "properties",       "required",         "additionalProperties",
      "items",    "prefixItems", "additionalItems", "minItems",   "maxItems",         "uniqueItems",
      "minLength", "maxLength", "pattern",   "format",           "minimum",          "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf",  "allOf",            "$ref",
      "nullable"};
  return k;
}

int ExprSize(const GrammarExpr& e, int cap) {
  int n = 1;
  for (const auto& it : e.items) {
    if (n > cap) break;
    n += ExprSize(*it, cap) * (e.kind == ExprKind::kRepeat && e.max > 1 ? e.max : 1);
  }
  return n;
}

bool HasConstraints(const Json& s) {
  if (!s.is_object()) return !s.get<bool>();
  for (const auto& [k, v] : s.items()) {
    if (!IsAnnotationKeyword(k)) return true;
  }
  return false;
}

std::string Dump(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class Converter {
 public:
  Converter(const Json& root, const JsonSchemaOptions& o, GrammarBuilder* b) : root_(root), o_(o), b_(b) {
    ws_ = JsonWs(o.any_whitespace);
    comma_ = o.any_whitespace ? ExprSeq({ws_, ExprLiteral(","), ws_}) : ExprSeq({ExprLiteral(","), ws_});
    colon_ = o.any_whitespace ? ExprSeq({ws_, ExprLiteral(":"), ws_}) : ExprSeq({ExprLiteral(":"), ws_});
  }

  StatusOr<ExprPtr> Convert(const Json& s, const std::string& path, int depth) {
    if (depth > 100) return InvalidArgument("JSON schema nested too deeply at " + path);
    if (s.is_boolean()) return s.get<bool>() ? AnyValue() : ExprNothing();
    if (!s.is_object()) return InvalidArgument("JSON schema at " + path + " must be an object or a boolean");
    for (const auto& [k, v] : s.items()) {
      if (!IsAnnotationKeyword(k) && !HandledKeywords().count(k)) {
        return InvalidArgument("unsupported JSON Schema keyword '" + k + "' at " + path);
      }
    }
    if (s.contains("uniqueItems") && s["uniqueItems"] != Json(false)) {
      return InvalidArgument("unsupported JSON Schema keyword 'uniqueItems' (true) at " + path);
    }
    if (s.contains("$ref")) {
      Json rest = s;
      rest.erase("$ref");
      if (!HasConstraints(rest)) return RefExpr(s["$ref"], path, depth);
      ASSIGN_OR_RETURN(Json target, Deref(s, path, depth));
      return Convert(target, path, depth + 1);
    }
    if (s.contains("allOf")) {
      const Json& all = s["allOf"];
      if (!all.is_array() || all.empty()) return InvalidArgument("allOf at " + path + " must be a non-empty array");
      Json merged = s;
      merged.erase("allOf");
      for (size_t i = 0; i < all.size(); ++i) {
        ASSIGN_OR_RETURN(Json part, Deref(all[i], path + "/allOf/" + std::to_string(i), depth));
        ASSIGN_OR_RETURN(merged, MergeSchemas(merged, part, path));
      }
      return Convert(merged, path, depth + 1);
    }
    if (s.contains("anyOf") || s.contains("oneOf")) {
      if (s.contains("anyOf") && s.contains("oneOf")) {
        return InvalidArgument("JSON schema at " + path + " has both anyOf and oneOf; not supported");
      }
      const std::string key = s.contains("anyOf") ? "anyOf" : "oneOf";
      const Json& alts = s[key];
      if (!alts.is_array() || alts.empty()) return InvalidArgument(key + " at " + path + " must be a non-empty array");
      Json base = s;
      base.erase(key);
      const bool merge = HasConstraints(base);
      std::vector<ExprPtr> out;
      for (size_t i = 0; i < alts.size(); ++i) {
        const std::string sub = path + "/" + key + "/" + std::to_string(i);
        if (!merge) {
          ASSIGN_OR_RETURN(ExprPtr e, Convert(alts[i], sub, depth + 1));
          out.push_back(std::move(e));
          continue;
        }
        ASSIGN_OR_RETURN(Json part, Deref(alts[i], sub, depth));
        ASSIGN_OR_RETURN(Json merged, MergeSchemas(base, part, sub));
        ASSIGN_OR_RETURN(ExprPtr e, Convert(merged, sub, depth + 1));
        out.push_back(std::move(e));
      }
      return ExprAlt(std::move(out));
    }
    if (s.contains("nullable") && s["nullable"] == Json(true)) {
      Json rest = s;
      rest.erase("nullable");
      ASSIGN_OR_RETURN(ExprPtr e, Convert(rest, path, depth + 1));
      return ExprAlt({e, ExprLiteral("null")});
    }
    if (s.contains("enum") || s.contains("const")) return EnumExpr(s, path);

    std::vector<std::string> types;
    if (s.contains("type")) {
      const Json& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const auto& x : t) {
          if (!x.is_string()) return InvalidArgument("'type' at " + path + " must hold strings");
          types.push_back(x.get<std::string>());
        }
      } else {
        return InvalidArgument("'type' at " + path + " must be a string or a non-empty array");
      }
    } else {
      // No type: generate the types the other keywords talk about (a
      // subset of what the schema allows), or any value.
      auto has = [&](std::initializer_list<const char*> ks) {
        for (const char* k : ks) {
          if (s.contains(k)) return true;
        }
        return false;
      };
      if (has({"properties", "required", "additionalProperties"})) types.push_back("object");
      if (has({"items", "prefixItems", "additionalItems", "minItems", "maxItems"})) types.push_back("array");
      if (has({"minLength", "maxLength", "pattern", "format"})) types.push_back("string");
      if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) types.push_back("number");
      if (types.empty()) return AnyValue();
    }
    std::vector<ExprPtr> out;
    for (const auto& t : types) {
      ASSIGN_OR_RETURN(ExprPtr e, ConvertType(t, s, path, depth));
      out.push_back(std::move(e));
    }
    return ExprAlt(std::move(out));
  }

  // The root converts like a reference to "#" whose rule is `root_rule`,
  // so "$ref": "#" recursion calls the root rule.
  StatusOr<ExprPtr> ConvertRoot(const Json& schema, int32_t root_rule) {
    RefInfo& info = refs_["#"];
    info.rule = root_rule;
    info.in_progress = true;
    StatusOr<ExprPtr> body = Convert(schema, "#", 0);
    refs_["#"].in_progress = false;
    refs_["#"].done = true;
    return body;
  }

  ExprPtr AnyValue() {
    if (free_.value < 0) free_ = AddFreeJsonRules(b_, o_.any_whitespace);
    return ExprRef(free_.value);
  }

 private:
  StatusOr<const Json*> Resolve(const Json& ref, const std::string& path) {
    if (!ref.is_string()) return InvalidArgument("$ref at " + path + " must be a string");
    const std::string r = ref.get<std::string>();
    if (r.empty() || r[0] != '#') {
      return InvalidArgument("$ref '" + r + "' at " + path + ": only local references (\"#...\") are supported");
    }
    if (r.size() > 1 && r[1] != '/') {
      return InvalidArgument("$ref '" + r + "' at " + path + ": anchors are not supported, use a JSON pointer");
    }
    const Json* cur = &root_;
    size_t pos = 1;
    while (pos < r.size()) {
      size_t next = r.find('/', pos + 1);
      if (next == std::string::npos) next = r.size();
      std::string token;
      for (size_t i = pos + 1; i < next; ++i) {
        if (r[i] == '~' && i + 1 < next) {
          token.push_back(r[i + 1] == '1' ? '/' : '~');
          ++i;
        } else if (r[i] == '%' && i + 2 < next) {
          token.push_back(static_cast<char>(std::stoi(r.substr(i + 1, 2), nullptr, 16)));
          i += 2;
        } else {
          token.push_back(r[i]);
        }
      }
      if (cur->is_object() && cur->contains(token)) {
        cur = &(*cur)[token];
      } else if (cur->is_array() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(token) < cur->size()) {
        cur = &(*cur)[std::stoul(token)];
      } else {
        return InvalidArgument("$ref '" + r + "' at " + path + " does not resolve");
      }
      pos = next;
    }
    return cur;
  }

  // A schema with a top-level $ref replaced by its target (merged with
  // the $ref's siblings).
  StatusOr<Json> Deref(const Json& s, const std::string& path, int depth) {
    if (!s.is_object() || !s.contains("$ref")) return s;
    if (depth > 100) return InvalidArgument("$ref cycle without content at " + path);
    ASSIGN_OR_RETURN(const Json* target, Resolve(s["$ref"], path));
    ASSIGN_OR_RETURN(Json t, Deref(*target, path, depth + 1));
    Json rest = s;
    rest.erase("$ref");
    if (!HasConstraints(rest)) return t;
    return MergeSchemas(t, rest, path);
  }

  // Non-recursive references are copied inline (so token tables see the
  // whole context); a reference met again while it is being converted, or a
  // big one, becomes a rule.
  StatusOr<ExprPtr> RefExpr(const Json& ref, const std::string& path, int depth) {
    ASSIGN_OR_RETURN(const Json* target, Resolve(ref, path));
    const std::string key = ref.get<std::string>();
    auto& info = refs_[key];
    if (info.rule >= 0) {
      if (info.done) return ExprRef(info.rule);
    }
    if (info.in_progress) {
      if (info.rule < 0) info.rule = b_->AddRule(b_->UniqueName(RuleNameFor(key)));
      return ExprRef(info.rule);
    }
    if (info.inline_expr) return info.inline_expr;
    info.in_progress = true;
    StatusOr<ExprPtr> body = Convert(*target, key, depth + 1);
    auto& again = refs_[key];  // Convert may have grown the map
    again.in_progress = false;
    if (!body.ok()) return body.status();
    if (again.rule < 0 && ExprSize(**body, kInlineRefLimit) > kInlineRefLimit) {
      again.rule = b_->AddRule(b_->UniqueName(RuleNameFor(key)));
    }
    if (again.rule >= 0) {
      b_->SetRule(again.rule, *body);
      again.done = true;
      return ExprRef(again.rule);
    }
    again.inline_expr = *body;
    return *body;
  }

  static std::string RuleNameFor(const std::string& ref) {
    const size_t slash = ref.rfind('/');
    std::string name = slash == std::string::npos ? "ref" : ref.substr(slash + 1);
    return name.empty() || name == "#" ? "root-ref" : name;
  }

  StatusOr<ExprPtr> ConvertType(const std::string& t, const Json& s, const std::string& path, int depth) {
    if (t == "string") return ConvertString(s, path);
    if (t == "integer") return ConvertNumber(s, path, true);
    if (t == "number") return ConvertNumber(s, path, false);
    if (t == "boolean") return ExprAlt({ExprLiteral("true"), ExprLiteral("false")});
    if (t == "null") return ExprLiteral("null");
    if (t == "object") return ConvertObject(s, path, depth);
    if (t == "array") return ConvertArray(s, path, depth);
    return InvalidArgument("unknown JSON Schema type '" + t + "' at " + path);
  }

  StatusOr<std::optional<int64_t>> Count(const Json& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return std::optional<int64_t>();
    const Json& v = s[key];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e6) {
      return InvalidArgument("'" + std::string(key) + "' at " + path + " must be a count in [0, 1000000]");
    }
    return std::optional<int64_t>(static_cast<int64_t>(std::ceil(v.get<double>())));
  }

  StatusOr<ExprPtr> ConvertString(const Json& s, const std::string& path) {
    ASSIGN_OR_RETURN(auto min_len, Count(s, "minLength", path));
    ASSIGN_OR_RETURN(auto max_len, Count(s, "maxLength", path));
    const bool lengths = min_len.has_value() || max_len.has_value();
    ExprPtr body;
    if (s.contains("format")) {
      if (!s["format"].is_string()) return InvalidArgument("'format' at " + path + " must be a string");
      if (s.contains("pattern") || lengths) {
        return InvalidArgument("'format' together with 'pattern', 'minLength' or 'maxLength' at " + path +
                               " is not supported");
      }
      StatusOr<ExprPtr> f = JsonFormat(s["format"].get<std::string>());
      if (!f.ok()) return f.status().WithPrefix(path);
      body = *f;
    } else if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return InvalidArgument("'pattern' at " + path + " must be a string");
      if (lengths) return InvalidArgument("'pattern' together with 'minLength'/'maxLength' at " + path + " is not supported");
      StatusOr<ExprPtr> re = ParseRegexSearch(s["pattern"].get<std::string>());
      if (!re.ok()) return re.status().WithPrefix("pattern at " + path);
      body = MapChars(*re, [](const CharSet& c) { return JsonEscapedChars(c); });
    } else {
      const int64_t lo = min_len.value_or(0);
      const int64_t hi = max_len.value_or(-1);
      if (hi >= 0 && hi < lo) return ExprNothing();
      body = ExprRepeat(JsonStringChar(), static_cast<int32_t>(lo), static_cast<int32_t>(hi));
    }
    return ExprSeq({ExprLiteral("\""), body, ExprLiteral("\"")});
  }

  StatusOr<ExprPtr> ConvertNumber(const Json& s, const std::string& path, bool integer) {
    std::optional<int64_t> lo, hi;
    auto bound = [&](const char* key) -> StatusOr<std::optional<double>> {
      if (!s.contains(key) || s[key].is_boolean()) return std::optional<double>();
      if (!s[key].is_number()) return InvalidArgument("'" + std::string(key) + "' at " + path + " must be a number");
      const double v = s[key].get<double>();
      if (std::fabs(v) > kMaxBound) {
        return InvalidArgument("'" + std::string(key) + "' at " + path + " is too large to enforce (limit 1e15)");
      }
      return std::optional<double>(v);
    };
    auto raise = [&](int64_t v) { lo = lo ? std::max(*lo, v) : v; };
    auto lower = [&](int64_t v) { hi = hi ? std::min(*hi, v) : v; };
    // Draft 4 spells exclusive bounds as booleans next to minimum/maximum.
    const bool excl_min_flag = s.contains("exclusiveMinimum") && s["exclusiveMinimum"] == Json(true);
    const bool excl_max_flag = s.contains("exclusiveMaximum") && s["exclusiveMaximum"] == Json(true);
    ASSIGN_OR_RETURN(auto minimum, bound("minimum"));
    ASSIGN_OR_RETURN(auto maximum, bound("maximum"));
    ASSIGN_OR_RETURN(auto excl_min, bound("exclusiveMinimum"));
    ASSIGN_OR_RETURN(auto excl_max, bound("exclusiveMaximum"));
    if (minimum) raise(excl_min_flag ? static_cast<int64_t>(std::floor(*minimum)) + 1 : static_cast<int64_t>(std::ceil(*minimum)));
    if (maximum) lower(excl_max_flag ? static_cast<int64_t>(std::ceil(*maximum)) - 1 : static_cast<int64_t>(std::floor(*maximum)));
    if (excl_min) raise(static_cast<int64_t>(std::floor(*excl_min)) + 1);
    if (excl_max) lower(static_cast<int64_t>(std::ceil(*excl_max)) - 1);
    return integer ? IntegerRange(lo, hi) : NumberRange(lo, hi);
  }

  StatusOr<ExprPtr> ConvertObject(const Json& s, const std::string& path, int depth) {
    struct Prop {
      std::string name;
      ExprPtr value;
      bool required;
    };
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return InvalidArgument("'required' at " + path + " must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) return InvalidArgument("'required' at " + path + " must hold strings");
        required.insert(r.get<std::string>());
      }
    }
    // Undeclared properties: their value expression, or null if none allowed.
    ExprPtr additional;
    if (s.contains("additionalProperties")) {
      ASSIGN_OR_RETURN(ExprPtr e, Convert(s["additionalProperties"], path + "/additionalProperties", depth + 1));
      if (e->kind != ExprKind::kNothing) additional = e;
    } else if (!o_.strict || !s.contains("properties")) {
      // Strictness closes objects that list their properties; a bare
      // {"type": "object"} still means any object.
      additional = AnyValue();
    }
    std::vector<Prop> props;
    std::vector<std::string> declared;
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) return InvalidArgument("'properties' at " + path + " must be an object");
      for (const auto& [name, ps] : s["properties"].items()) {
        declared.push_back(name);
        ASSIGN_OR_RETURN(ExprPtr v, Convert(ps, path + "/properties/" + name, depth + 1));
        const bool req = required.count(name) > 0;
        if (v->kind == ExprKind::kNothing) {
          if (req) return ExprNothing();
          continue;  // a property whose schema is false must be absent
        }
        props.push_back({name, v, req});
      }
    }
    for (const auto& name : required) {  // required but not declared
      if (std::find(declared.begin(), declared.end(), name) != declared.end()) continue;
      if (s.contains("additionalProperties") && !additional) return ExprNothing();
      props.push_back({name, additional ? additional : AnyValue(), true});
      declared.push_back(name);
    }
    std::vector<ExprPtr> kv;
    for (const auto& p : props) kv.push_back(ExprSeq({ExprLiteral(Dump(Json(p.name))), colon_, p.value}));
    ExprPtr extra_kv;
    if (additional) {
      extra_kv = ExprSeq({ExprLiteral("\""), StringContentExcluding(declared), ExprLiteral("\""), colon_, additional});
    }
    const size_t n = props.size();
    // rest[i]: properties i.. when one was already written (so each needs a
    // comma first), then any additional ones.
    std::vector<ExprPtr> rest(n + 1);
    rest[n] = extra_kv ? ExprStar(ExprSeq({comma_, extra_kv})) : ExprEmpty();
    for (size_t i = n; i-- > 0;) {
      const ExprPtr item = ExprSeq({comma_, kv[i]});
      rest[i] = props[i].required ? ExprSeq({item, rest[i + 1]}) : ExprSeq({ExprOptional(item), rest[i + 1]});
    }
    // The first written property is any one up to the first required one.
    std::vector<ExprPtr> first;
    bool all_optional = true;
    for (size_t j = 0; j < n; ++j) {
      first.push_back(ExprSeq({kv[j], rest[j + 1]}));
      if (props[j].required) {
        all_optional = false;
        break;
      }
    }
    if (all_optional) {
      if (extra_kv) first.push_back(ExprSeq({extra_kv, rest[n]}));
      first.push_back(ExprEmpty());
    }
    return ExprSeq({ExprLiteral("{"), ws_, ExprAlt(std::move(first)), ws_, ExprLiteral("}")});
  }

  // Array items are often repeated ({m,n} copies them); a rule keeps one
  // copy unless the item is tiny.
  ExprPtr ItemExpr(ExprPtr e) {
    if (e->kind == ExprKind::kRuleRef || e->kind == ExprKind::kNothing) return e;
    if (ExprSize(*e, 16) <= 12) return e;
    return ExprRef(b_->AddRule(b_->UniqueName("item"), e));
  }

  StatusOr<ExprPtr> ConvertArray(const Json& s, const std::string& path, int depth) {
    ASSIGN_OR_RETURN(auto min_items, Count(s, "minItems", path));
    ASSIGN_OR_RETURN(auto max_items, Count(s, "maxItems", path));
    const int64_t min = min_items.value_or(0);
    int64_t max = max_items.value_or(-1);
    std::vector<ExprPtr> prefix;
    const Json* prefix_json = nullptr;
    const Json* tail_json = nullptr;
    std::string tail_path;
    if (s.contains("prefixItems")) {
      prefix_json = &s["prefixItems"];
      if (s.contains("items")) tail_json = &s["items"], tail_path = "/items";
    } else if (s.contains("items") && s["items"].is_array()) {
      prefix_json = &s["items"];
      if (s.contains("additionalItems")) tail_json = &s["additionalItems"], tail_path = "/additionalItems";
    } else if (s.contains("items")) {
      tail_json = &s["items"], tail_path = "/items";
    }
    if (prefix_json) {
      if (!prefix_json->is_array()) return InvalidArgument("prefixItems at " + path + " must be an array");
      for (size_t i = 0; i < prefix_json->size(); ++i) {
        ASSIGN_OR_RETURN(ExprPtr e, Convert((*prefix_json)[i], path + "/prefixItems/" + std::to_string(i), depth + 1));
        if (e->kind == ExprKind::kNothing) {  // no array reaches this index
          max = max < 0 ? static_cast<int64_t>(i) : std::min<int64_t>(max, i);
          break;
        }
        prefix.push_back(ItemExpr(e));
      }
    }
    ExprPtr tail;
    if (tail_json) {
      ASSIGN_OR_RETURN(ExprPtr e, Convert(*tail_json, path + tail_path, depth + 1));
      if (e->kind != ExprKind::kNothing) tail = ItemExpr(e);
    } else if (!o_.strict || prefix.empty()) {
      tail = AnyValue();
    }
    const int64_t k = static_cast<int64_t>(prefix.size());
    if (!tail) max = max < 0 ? k : std::min(max, k);
    if (max >= 0 && min > max) return ExprNothing();
    const int64_t cap = max >= 0 ? max : INT64_MAX;  // most elements allowed
    // r = the elements after the first, from the highest index down.
    const int64_t tail_start = std::max<int64_t>(k, 1);
    ExprPtr r = ExprEmpty();
    if (tail && cap > tail_start) {
      r = ExprRepeat(ExprSeq({comma_, tail}), static_cast<int32_t>(std::max<int64_t>(0, min - tail_start)),
                     max < 0 ? -1 : static_cast<int32_t>(cap - tail_start));
    }
    for (int64_t i = std::min(k, cap) - 1; i >= 1; --i) {
      const ExprPtr item = ExprSeq({comma_, prefix[i], r});
      r = i < min ? item : ExprOptional(item);
    }
    ExprPtr body = ExprEmpty();
    if (cap > 0) {
      const ExprPtr first = ExprSeq({k > 0 ? prefix[0] : tail, r});
      body = min > 0 ? first : ExprOptional(first);
    }
    return ExprSeq({ExprLiteral("["), ws_, body, ws_, ExprLiteral("]")});
  }

  static bool EnumValueAllowed(const Json& v, const Json& s) {
    if (s.contains("type")) {
      std::vector<std::string> types;
      if (s["type"].is_string()) types.push_back(s["type"].get<std::string>());
      if (s["type"].is_array()) {
        for (const auto& t : s["type"]) {
          if (t.is_string()) types.push_back(t.get<std::string>());
        }
      }
      bool ok = false;
      for (const auto& t : types) {
        ok = ok || (t == "string" && v.is_string()) || (t == "number" && v.is_number()) ||
             (t == "integer" && v.is_number() && std::floor(v.get<double>()) == v.get<double>()) ||
             (t == "boolean" && v.is_boolean()) || (t == "null" && v.is_null()) ||
             (t == "object" && v.is_object()) || (t == "array" && v.is_array());
      }
      if (!ok) return false;
    }
    if (v.is_string()) {
      const size_t n = CodePoints(v.get<std::string>());
      if (s.contains("minLength") && s["minLength"].is_number() && n < s["minLength"].get<double>()) return false;
      if (s.contains("maxLength") && s["maxLength"].is_number() && n > s["maxLength"].get<double>()) return false;
    }
    if (v.is_number()) {
      const double x = v.get<double>();
      if (s.contains("minimum") && s["minimum"].is_number() && x < s["minimum"].get<double>()) return false;
      if (s.contains("maximum") && s["maximum"].is_number() && x > s["maximum"].get<double>()) return false;
      if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_number() && x <= s["exclusiveMinimum"].get<double>()) return false;
      if (s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_number() && x >= s["exclusiveMaximum"].get<double>()) return false;
    }
    return true;
  }

  StatusOr<ExprPtr> EnumExpr(const Json& s, const std::string& path) {
    if (s.contains("pattern") || s.contains("format")) {
      return InvalidArgument("enum/const together with pattern or format at " + path + " is not supported");
    }
    std::vector<Json> values;
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) return InvalidArgument("'enum' at " + path + " must be an array");
      for (const auto& v : s["enum"]) values.push_back(v);
    }
    if (s.contains("const")) {
      if (s.contains("enum") && std::find(values.begin(), values.end(), s["const"]) == values.end()) {
        return ExprNothing();
      }
      values = {s["const"]};
    }
    std::vector<ExprPtr> alts;
    for (const auto& v : values) {
      if (EnumValueAllowed(v, s)) alts.push_back(ExprLiteral(Dump(v)));
    }
    return ExprAlt(std::move(alts));
  }

  struct RefInfo {
    int32_t rule = -1;
    bool in_progress = false;
    bool done = false;
    ExprPtr inline_expr;
  };

  const Json& root_;
  const JsonSchemaOptions& o_;
  GrammarBuilder* b_;
  ExprPtr ws_, comma_, colon_;
  FreeJsonRules free_;
  std::map<std::string, RefInfo> refs_;
};

}  // namespace

Status JsonSchemaToGrammar(std::string_view schema_json, const JsonSchemaOptions& options, GrammarBuilder* builder,
                           int32_t* root) {
  Json schema;
  try {
    schema = Json::parse(schema_json);
  } catch (const Json::parse_error& e) {
    return InvalidArgument(std::string("JSON schema is not valid JSON: ") + e.what());
  }
  const int32_t root_rule = builder->AddRule("root");
  Converter conv(schema, options, builder);
  StatusOr<ExprPtr> body = conv.ConvertRoot(schema, root_rule);
  if (!body.ok()) return body.status();
  if ((*body)->kind == ExprKind::kNothing) return InvalidArgument("JSON schema admits no value");
  builder->SetRule(root_rule, *body);
  *root = root_rule;
  return Status::Ok();
}

Status FreeJsonObjectGrammar(const JsonSchemaOptions& options, GrammarBuilder* builder, int32_t* root) {
  *root = AddFreeJsonRules(builder, options.any_whitespace).object;
  return Status::Ok();
}

}  // namespace pagoda
