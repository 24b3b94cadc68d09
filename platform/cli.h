// The fusesim command line: run, compile, inspect, sweep, onnx-test.
#pragma once

namespace fusesim {

// Exit codes: 0 ok, 1 the run failed (fault, numerics mismatch), 2 bad usage or input.
int cli_main(int argc, char* argv[]);

}  // namespace fusesim
