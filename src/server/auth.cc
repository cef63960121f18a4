#include "server/auth.h"

#include <strings.h>

namespace pagoda {

namespace {
// Compares without an early exit, so response time does not reveal how
// much of a guessed key was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}
}  // namespace

bool ApiKeyAuth::Allows(const HttpRequest& request) const {
  if (api_key_.empty()) return true;
  if (request.path.rfind("/v1", 0) != 0) return true;
  std::string_view header = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() < kBearer.size() || ::strncasecmp(header.data(), kBearer.data(), kBearer.size()) != 0) {
    return false;
  }
  return ConstantTimeEquals(header.substr(kBearer.size()), api_key_);
}

}  // namespace pagoda
