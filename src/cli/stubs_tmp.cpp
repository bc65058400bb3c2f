#include "internal.h"
namespace beacon::cli {
int Monitor(const Args&, Io&) {
  return 1;
}
}  // namespace beacon::cli
