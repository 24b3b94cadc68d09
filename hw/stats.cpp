// Names of the units and token channels counted in Stats.
#include "stats.h"

namespace fusesim::hw {

const char* unit_name(int u) {
  switch (u) {
    case kLoadUnit:
      return "load";
    case kComputeUnit:
      return "compute";
    case kStoreUnit:
      return "store";
  }
  return "?";
}

const char* channel_name(int ch) {
  static const char* kNames[kNumChannels] = {"load_to_compute", "compute_to_load", "compute_to_store",
                                             "store_to_compute"};
  return ch >= 0 && ch < kNumChannels ? kNames[ch] : "?";
}

const char* stall_cause_name(int ch) {
  static const char* kNames[kNumChannels] = {"nfu_wait_load", "load_wait_nfu", "store_wait_nfu",
                                             "nfu_wait_store"};
  return ch >= 0 && ch < kNumChannels ? kNames[ch] : "?";
}

}  // namespace fusesim::hw
