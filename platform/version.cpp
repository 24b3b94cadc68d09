// fusesim version string.
#include "version.h"

namespace fusesim {
const char* version() { return FUSESIM_VERSION; }
}  // namespace fusesim
