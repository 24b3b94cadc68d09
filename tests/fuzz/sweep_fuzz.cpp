// Fuzz target: a sweep spec parsed, validated and expanded into points (never run); the same
// path as `fusesim sweep SPEC --dry-run`. The spec sits in configs/sweeps, so the relative model
// and arch paths of the seeds resolve.
#include "fuzz_support.h"
#include "sweep_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusesim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  return fuzz::run_one([&] {
    const sweep::SweepSpec spec = sweep::parse_spec(text, FUSESIM_SOURCE_DIR "/configs/sweeps/fuzz.yaml");
    sweep::expand(spec);
  });
}
