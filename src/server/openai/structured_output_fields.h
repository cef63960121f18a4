// Reads a request's structured-output fields into SamplingParams: OpenAI's
// response_format (json_object, json_schema with strict), vLLM's
// structured_outputs {json, regex, choice, grammar, json_object} and the
// older guided_json / guided_regex / guided_choice / guided_grammar. At most
// one constraint per request; a malformed field is a 400 naming it. Whether
// the constraint itself is valid (schema keywords, regex syntax, grammar)
// is decided when the engine compiles it. json_schema's `strict` is
// accepted either way and generation is always strict (undeclared
// properties only where the schema allows them): a non-strict schema's
// valid outputs include every strict one. guided_whitespace_pattern (any
// value) allows any whitespace between JSON tokens instead of the default
// compact-or-indented layout. Pure functions: thread-safe.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "sched/sampling_params.h"
#include "server/openai/errors.h"

namespace pagoda {

std::optional<ApiError> ReadStructuredOutputFields(const nlohmann::json& body, SamplingParams* params);

}  // namespace pagoda
