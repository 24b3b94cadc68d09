// Shared pieces of the libFuzzer targets: the input handed to a front end as a file (they read
// paths, as the CLI gives them), and the rule that InputError is the only acceptable failure.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "compiler/compiler.h"
#include "compiler/frontend/protobuf_wire.h"
#include "isa/arch_params.h"
#include "isa/errors.h"

namespace fusesim::fuzz {

// A private directory per fuzzing process, so parallel jobs do not share files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fusesim-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes the input to `name` in the scratch directory; the name's extension picks the loader.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  static ScratchDir dir;
  const std::string path = dir.path() + "/" + name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!f.flush()) std::abort();
  return path;
}

// Runs one input: an InputError is the expected answer to bad input; any other exception
// escapes and libFuzzer reports it (uncaught exception, abort) as a finding.
template <class Body>
int run_one(Body&& body) {
  try {
    body();
  } catch (const InputError&) {
  }
  return 0;
}

// Differential check of the wire-format walk that locates protobuf parse errors: it must find an
// error exactly when libprotobuf refuses the bytes, or the error messages would point nowhere.
template <class Message>
void check_wire_walk(const uint8_t* data, size_t size) {
  Message m;
  const bool parsed = m.ParseFromArray(data, static_cast<int>(size));
  const auto error = compiler::find_wire_error(std::string(reinterpret_cast<const char*>(data), size),
                                               *Message::descriptor());
  if (parsed == !error) return;
  fprintf(stderr, "wire walk disagrees with libprotobuf: parsed=%d, walk: %s\n", parsed,
          error ? ("byte " + std::to_string(error->offset) + " " + error->field + ": " + error->what).c_str()
                : "no error");
  std::abort();
}

inline const ArchParams& default_arch() {
  static const ArchParams arch = load_arch(FUSESIM_SOURCE_DIR "/configs/arch/diannao.yaml");
  return arch;
}

// What `fusesim compile --model FILE` does: load, infer shapes, compile without weight bytes.
inline void compile_model_file(const std::string& path, const ArchParams& arch) {
  compiler::Graph g = compiler::load_model(path);
  compiler::CompileOptions opt;
  opt.materialize = false;
  compiler::compile(g, arch, opt);
}

}  // namespace fusesim::fuzz
