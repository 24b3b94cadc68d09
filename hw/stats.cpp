// Names of the units counted in Stats.
#include "stats.h"

namespace fusesim::hw {

const char* unit_name(int u) {
  switch (u) {
    case kLoadUnit: return "load";
    case kComputeUnit: return "compute";
    case kStoreUnit: return "store";
  }
  return "?";
}

}  // namespace fusesim::hw
