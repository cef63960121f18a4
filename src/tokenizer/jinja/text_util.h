// Python str operations on UTF-8 text that the filters and string methods
// share: whitespace stripping, case mapping, splitting, splitlines.
// Stateless functions: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

// str.strip/lstrip/rstrip: `chars` null strips Unicode whitespace.
std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right);
// str.lower/upper for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.
std::string PyLower(std::string_view s);
std::string PyUpper(std::string_view s);
std::string PyCapitalize(std::string_view s);
std::string PyTitle(std::string_view s);  // str.title()
// str.split(sep, maxsplit); sep null splits on whitespace runs.
std::vector<std::string> PySplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> PyRSplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> PySplitLines(std::string_view s, bool keepends = false);
std::string PyReplace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
bool PyIsSpace(uint32_t cp);
bool PyIsAlpha(uint32_t cp);  // letters (approximate outside the mapped scripts)

}  // namespace pagoda::jinja
