// JSON Schema -> grammar rules for structured output.
//
// Supported keywords:
//   type (one or a list), enum, const, properties, required,
//   additionalProperties (bool or schema), items (schema, bool, or the
//   draft-7 array form), prefixItems, additionalItems, minItems, maxItems,
//   minLength, maxLength, pattern (regex_parser.h; search semantics, as JSON
//   Schema says), format (date, time, date-time, uuid, email, ipv4,
//   hostname), minimum, maximum, exclusiveMinimum, exclusiveMaximum (number
//   or draft-4 boolean), anyOf, oneOf, allOf (merged into one schema where
//   the keywords combine), $ref to "#" or a JSON pointer "#/..." (so $defs
//   and definitions, recursion included), nullable (OpenAPI), and
//   uniqueItems: false. Annotations (title, description, default,
//   examples, $schema, $id, $comment, deprecated, readOnly, writeOnly,
//   contentMediaType, contentEncoding) are ignored.
// Any other keyword is an error naming it and where it is; so is an
// unsupported combination (pattern with minLength, two different patterns
// in allOf, ...). Nothing is silently dropped.
//
// What the output looks like, and where it is a subset of what the schema
// allows (every output validates; not every valid document can be produced):
// - properties come in the schema's order; properties not declared appear
//   only where additionalProperties allows them, after the declared ones,
//   with names that need no escapes and differ from the declared ones;
// - with `strict` (the default, like OpenAI's strict mode) an absent
//   additionalProperties means false for an object that lists
//   `properties` (an object schema without `properties` stays open), and an
//   absent `items` after prefixItems means no more items;
// - oneOf is matched as anyOf (exclusivity is not enforced);
// - number bounds are rounded inwards to integers (minimum 0.5 acts as 1)
//   and bounded numbers have no exponent; integers are written without
//   fraction or exponent;
// - maxLength/minLength count characters, an escape being one character;
// - enum and const values are filtered by the sibling type, length and
//   bound keywords and written in compact JSON;
// - formats are generated in one canonical shape (e.g. date-time with "T",
//   no February 29th, email addresses of plain atoms).
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "base/status.h"
#include "guided/grammar.h"

namespace pagoda {

struct JsonSchemaOptions {
  // Allow any amount of whitespace between tokens (else: at most one space,
  // or a newline and up to 20 indentation characters).
  bool any_whitespace = false;
  // Undeclared properties and extra tuple items only where the schema
  // explicitly allows them.
  bool strict = true;
};

// Adds rules for the schema in `schema_json`; sets *root.
Status JsonSchemaToGrammar(std::string_view schema_json, const JsonSchemaOptions& options,
                           GrammarBuilder* builder, int32_t* root);

// Any JSON object (OpenAI's json_object response format).
Status FreeJsonObjectGrammar(const JsonSchemaOptions& options, GrammarBuilder* builder, int32_t* root);

}  // namespace pagoda
