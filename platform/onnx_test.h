// `fusesim onnx-test DIR...`: runs ONNX backend-test case folders (model.onnx plus
// test_data_set_*/{input,output}_N.pb) on the accelerator in fp32, one child process per data
// set, and prints PASS / FAIL / UNSUPPORTED per case and a closing count.
#pragma once

#include <string>
#include <vector>

namespace fusesim {

// The default --arch of every command (defined in cli.cpp).
std::string default_arch_file();

// Exit codes: 0 every supported case passed, 1 some supported case failed, 2 bad usage.
int onnx_test_main(const std::vector<std::string>& args);

}  // namespace fusesim
