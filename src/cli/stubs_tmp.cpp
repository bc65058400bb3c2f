#include "internal.h"
namespace beacon::cli {
int Watch(const Args&, Io&) {
  return 1;
}
int Lock(const Args&, Io&) {
  return 1;
}
int Monitor(const Args&, Io&) {
  return 1;
}
}  // namespace beacon::cli
