// Error types shared by every part of fusesim. The CLI maps InputError to exit code 2 and
// SimulationFault/CheckFailure to exit code 1.
#pragma once

#include <stdexcept>
#include <string>

namespace fusesim {

// Bad user input: a config, model or option. The message already names the location
// (file:line:col and key path, or the option).
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace fusesim
