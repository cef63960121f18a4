// PAGODA_CHECK: aborts with a message when an internal invariant is broken.
// Never used for what a user can cause (bad files, bad requests): those are
// Status values. Thread-safe (writes one message to stderr, then aborts).
#pragma once

#include <sstream>

namespace pagoda::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return os_; }

 private:
  std::ostringstream os_;
};

// Lets `cond ? (void)0 : Voidify() & stream` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace pagoda::internal

#define PAGODA_CHECK(cond)                      \
  (cond) ? (void)0                              \
         : ::pagoda::internal::Voidify() &      \
               ::pagoda::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#define CHECK(cond) PAGODA_CHECK(cond)
#define CHECK_EQ(a, b) PAGODA_CHECK((a) == (b))
#define CHECK_LT(a, b) PAGODA_CHECK((a) < (b))
#define CHECK_LE(a, b) PAGODA_CHECK((a) <= (b))
#define CHECK_GE(a, b) PAGODA_CHECK((a) >= (b))
#define CHECK_GT(a, b) PAGODA_CHECK((a) > (b))
