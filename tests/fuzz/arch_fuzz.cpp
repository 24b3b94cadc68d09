// Fuzz target: an arch YAML file plus --set overrides, then LeNet-5 compiled on the result (the
// cost model divides and multiplies by arch values). Input: the arch text, a NUL byte, then one
// KEY=VALUE override per line; the same path as
// `fusesim compile --model models/lenet5.yaml --arch FILE --set KEY=VALUE ...`.
#include <sstream>
#include <string_view>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusesim;
  static const compiler::Graph lenet = compiler::load_model(FUSESIM_SOURCE_DIR "/models/lenet5.yaml");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = std::min(input.find('\0'), input.size());
  const std::string path = fuzz::write_input(data, nul, "arch.yaml");
  std::vector<std::pair<std::string, std::string>> overrides;
  std::istringstream sets(std::string(input.substr(std::min(nul + 1, input.size()))));
  for (std::string line; std::getline(sets, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;  // the CLI refuses it before reading the arch
    std::string key = line.substr(0, eq);
    if (key.rfind("arch.", 0) == 0) key = key.substr(5);
    overrides.emplace_back(key, line.substr(eq + 1));
  }
  return fuzz::run_one([&] {
    const ArchParams arch = load_arch(path, overrides);
    compiler::Graph g = lenet;
    compiler::CompileOptions opt;
    opt.materialize = false;
    compiler::compile(g, arch, opt);
  });
}
