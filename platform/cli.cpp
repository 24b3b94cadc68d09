// Command-line parsing (Boost.Program_options) and the run/compile/inspect commands.
#include "cli.h"

#include <boost/program_options.hpp>
#include <systemc>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "compiler/compiler.h"
#include "isa/errors.h"
#include "json_writer.h"
#include "onnx_io.h"
#include "onnx_test.h"
#include "report.h"
#include "simulation.h"
#include "sweep.h"
#include "sweep_slurm.h"
#include "trace_files.h"
#include "version.h"

namespace po = boost::program_options;

namespace fusesim {

namespace {

constexpr const char* kUsage =
    "usage: fusesim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run        compile a model and co-simulate it on the accelerator\n"
    "  compile    compile a model; write the program listing (--emit-asm) or a schedule report\n"
    "  inspect    print a model's layers, shapes, MACs and parameters\n"
    "  sweep      run a YAML-defined design-space sweep in parallel (here, or as a Slurm job array)\n"
    "  sweep-status  follow a Slurm sweep and merge its shards into results.jsonl/results.csv\n"
    "  sweep-task    run one array task of a Slurm sweep (used by its sweep.sbatch)\n"
    "  onnx-test  run ONNX conformance case folders\n"
    "\n"
    "Run 'fusesim <command> --help' for the options of a command. 'fusesim --version' prints the version.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The arch default is relative to the working directory, falling back to the source tree so
// the binary works from anywhere.
std::string default_arch() {
  const char* rel = "configs/arch/diannao.yaml";
  if (std::filesystem::exists(rel)) return rel;
  return std::string(FUSESIM_SOURCE_DIR) + "/" + rel;
}

struct CommonOptions {
  std::string model, arch, dtype = "int16", fusion = "none", pipeline = "full", elimination = "on", overlap = "auto";
  std::vector<std::string> sets, tiles, fuse;
  std::string schedule, emit_schedule;  // replay a schedule file; write the schedule
  std::string batch;                    // --batch (empty: the model's)
};

void add_model_options(po::options_description& d, CommonOptions& c) {
  d.add_options()
      ("model,m", po::value(&c.model)->required(), "network: models/*.yaml or an .onnx file")
      ("arch,a", po::value(&c.arch)->default_value(default_arch()), "architecture YAML")
      ("set", po::value(&c.sets)->composing(), "override an arch key: --set arch.buffers.sb.bytes=64KiB (repeatable)")
      ("dtype", po::value(&c.dtype)->default_value("int16"), "int16 (DianNao fixed point) or fp32")
      ("fusion", po::value(&c.fusion)->default_value("none"), "layer fusion: none, greedy or optimal")
      ("pipeline", po::value(&c.pipeline)->default_value("full"), "pipelining: none, fine, coarse or full")
      ("fusion-overlap", po::value(&c.overlap)->default_value("auto"), "fused groups' overlapping rows/columns: recompute, cache-rows, cache-all or auto (the cost model's choice per group)")
      ("elimination", po::value(&c.elimination)->default_value("on"), "layer elimination: on or off")
      ("tile", po::value(&c.tiles)->composing(), "manual tile: --tile LAYER=cout,cin,rows,cols[,samples] (0 = auto; samples: of a batch sharing each fc weight tile; repeatable)")
      ("fuse", po::value(&c.fuse)->composing(), "manual fused group: --fuse FIRST:LAST (a chain of layers; repeatable)")
      ("schedule", po::value(&c.schedule), "replay a schedule YAML (docs/schedule.md) instead of planning one; not with --fusion greedy|optimal, --fuse or --tile")
      ("emit-schedule", po::value(&c.emit_schedule), "write the schedule (groups, tiles, buffers) as YAML to FILE ('-' for stdout), to edit and replay with --schedule")
      ("batch", po::value(&c.batch), "samples per run, 1 to 4096 (default: the model's `batch:` or ONNX dim 0, else 1)");
}

isa::DType parse_dtype(const std::string& s) {
  if (s == "int16") return isa::DType::Int16;
  if (s == "fp32") return isa::DType::Fp32;
  throw InputError("--dtype: expected int16 or fp32, got '" + s + "'");
}

bool parse_on_off(const std::string& flag, const std::string& s) {
  if (s == "on" || s == "true") return true;
  if (s == "off" || s == "false") return false;
  throw InputError(flag + ": expected on or off, got '" + s + "'");
}

std::vector<std::pair<std::string, std::string>> parse_sets(const std::vector<std::string>& sets) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) throw InputError("--set " + s + ": expected KEY=VALUE");
    std::string key = s.substr(0, eq);
    if (key.rfind("arch.", 0) == 0) key = key.substr(5);
    out.emplace_back(key, s.substr(eq + 1));
  }
  return out;
}

compiler::TileOverride parse_tile(const std::string& spec, std::string& layer) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) throw InputError("--tile " + spec + ": expected LAYER=cout,cin,rows,cols");
  layer = spec.substr(0, eq);
  std::vector<int64_t> v;
  std::stringstream ss(spec.substr(eq + 1));
  for (std::string part; std::getline(ss, part, ',');) {
    try {
      v.push_back(std::stoll(part));
    } catch (const std::exception&) {
      throw InputError("--tile " + spec + ": '" + part + "' is not a number");
    }
    if (v.back() < 0) throw InputError("--tile " + spec + ": sizes must be >= 0");
  }
  if (v.size() != 4 && v.size() != 5)
    throw InputError("--tile " + spec + ": expected four sizes cout,cin,rows,cols (and optionally samples)");
  return {v[0], v[1], v[2], v[3], v.size() == 5 ? v[4] : 0};
}

compiler::CompileOptions compile_options(const CommonOptions& c) {
  compiler::CompileOptions o;
  o.dtype = parse_dtype(c.dtype);
  o.fusion = compiler::parse_fusion(c.fusion);
  o.pipeline = compiler::parse_pipeline(c.pipeline);
  o.overlap = compiler::parse_overlap(c.overlap);
  o.elimination = parse_on_off("--elimination", c.elimination);
  for (const auto& f : c.fuse) {
    const auto colon = f.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == f.size())
      throw InputError("--fuse " + f + ": expected FIRST:LAST (layer names)");
    o.fuse.emplace_back(f.substr(0, colon), f.substr(colon + 1));
  }
  for (const auto& t : c.tiles) {
    std::string layer;
    auto tile = parse_tile(t, layer);
    o.tiles[layer] = tile;
  }
  o.schedule_file = c.schedule;
  o.emit_schedule = !c.emit_schedule.empty();
  if (!c.batch.empty())
    if (const std::string why = compiler::batch_text_problem(c.batch, o.batch); !why.empty())
      throw InputError("--batch: " + why);
  return o;
}

void write_schedule(const CommonOptions& c, const compiler::Program& p) {
  if (c.emit_schedule.empty()) return;
  if (c.emit_schedule == "-") {
    std::cout << p.schedule_yaml;
    return;
  }
  std::ofstream f(c.emit_schedule);
  if (!(f << p.schedule_yaml) || !(f.close(), f))
    throw InputError("--emit-schedule: cannot write " + c.emit_schedule);
}

// Parses `args` against `desc`; returns false when --help was printed.
bool parse(const std::vector<std::string>& args, po::options_description& desc, po::variables_map& vm,
           const char* usage, po::positional_options_description* pos = nullptr) {
  po::command_line_parser p(args);
  p.options(desc);
  if (pos) p.positional(*pos);
  po::store(p.run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n" << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

float data_value(const std::vector<uint8_t>& bytes, std::size_t i, isa::DType t) {
  if (t == isa::DType::Int16) {
    int16_t v;
    std::memcpy(&v, &bytes[i * 2], 2);
    return static_cast<float>(v);
  }
  float f;
  std::memcpy(&f, &bytes[i * 4], 4);
  return f;
}

// int16: bit-exact. fp32: max |out - ref| / max |ref| <= 1e-4.
CheckResult compare(const std::vector<std::vector<uint8_t>>& out, const std::vector<std::vector<uint8_t>>& ref,
                    isa::DType t) {
  CheckResult c;
  c.done = true;
  c.against = "reference executor";
  double max_ref = 0;
  const std::size_t esize = isa::data_bytes(t);
  bool shapes_ok = out.size() == ref.size();
  for (std::size_t k = 0; shapes_ok && k < out.size(); ++k) {
    if (out[k].size() != ref[k].size()) {
      shapes_ok = false;
      break;
    }
    for (std::size_t i = 0; i < out[k].size() / esize; ++i) {
      double a = data_value(out[k], i, t), b = data_value(ref[k], i, t);
      double d = std::fabs(a - b);
      if (!(d == 0)) ++c.mismatches;
      c.max_abs_err = std::max(c.max_abs_err, std::isnan(d) ? INFINITY : d);
      max_ref = std::max(max_ref, std::fabs(b));
      ++c.elements;
    }
  }
  c.rel_err = max_ref > 0 ? c.max_abs_err / max_ref : c.max_abs_err;
  if (t == isa::DType::Fp32) {
    // Element differences within the tolerance are not mismatches in fp32.
    c.passed = shapes_ok && c.rel_err <= 1e-4;
    if (c.passed) c.mismatches = 0;
  } else {
    c.passed = shapes_ok && c.mismatches == 0;
  }
  if (!shapes_ok) c.against += " (output sizes differ)";
  return c;
}

const char* kRunUsage =
    "usage: fusesim run --model M [--arch A] [--dtype int16|fp32] [--mode functional|timing] [--check] [--out DIR]\n"
    "Compiles the model, co-simulates it on the accelerator and prints a summary. With --out DIR it writes\n"
    "DIR/report.json, DIR/layers.csv, DIR/bandwidth.csv and DIR/timeline.json; with --vcd also DIR/trace.vcd\n"
    "and DIR/trace.gtkw (docs/traces.md). --schedule FILE replays a schedule written by --emit-schedule\n"
    "(and maybe edited; docs/schedule.md) instead of planning groups and tiles.";

int cmd_run(const std::vector<std::string>& args) {
  CommonOptions c;
  std::string mode = "functional", out, data_thread = "on";
  bool check = false, quiet = false, no_timeline = false;
  uint64_t bw_window = 1000;
  std::string input_file;
  std::vector<std::string> expect_files, dump_files;
  Tolerance tol;
  bool vcd = false, fst = false;
  uint64_t trace_from = 0, trace_to = UINT64_MAX;
  po::options_description desc("run options");
  desc.add_options()("help,h", "show this help");
  add_model_options(desc, c);
  desc.add_options()
      ("mode", po::value(&mode)->default_value("functional"), "functional (real data) or timing (no data, same cycles)")
      ("check", po::bool_switch(&check), "compare the output with the reference executor; exit 1 on a mismatch")
      ("out,o", po::value(&out), "directory for report.json, layers.csv and bandwidth.csv")
      ("bw-window", po::value(&bw_window)->default_value(1000), "cycles per bandwidth.csv row")
      ("input", po::value(&input_file), "network input from a TensorProto .pb (default: generated from the seed)")
      ("expect", po::value(&expect_files)->composing(), "compare output N (repeat in output order) with a TensorProto .pb; exit 1 on a mismatch")
      ("rtol", po::value(&tol.rtol)->default_value(1e-3), "--expect: relative tolerance")
      ("atol", po::value(&tol.atol)->default_value(1e-5), "--expect: absolute tolerance (|out - exp| <= atol + rtol*|exp|)")
      ("dump-output", po::value(&dump_files)->composing(), "write output N (repeat in output order) as a float TensorProto .pb")
      ("quiet,q", po::bool_switch(&quiet), "print nothing but errors")
      ("no-timeline", po::bool_switch(&no_timeline), "with --out, skip timeline.json (sweep workers: it is large and slow)")
      ("vcd", po::bool_switch(&vcd), "write DIR/trace.vcd and DIR/trace.gtkw (needs --out)")
      ("trace-from", po::value(&trace_from), "first cycle (from CTRL.start) the VCD records")
      ("trace-to", po::value(&trace_to), "last cycle the VCD records")
      ("fst", po::bool_switch(&fst), "also convert the VCD to DIR/trace.fst with vcd2fst (implies --vcd)")
      ("data-thread", po::value(&data_thread)->default_value("on"), "functional mode: on (move the data and run the NFU kernels on a second core, same results) or off (all on the simulation thread)");
  po::variables_map vm;
  if (!parse(args, desc, vm, kRunUsage)) return 0;
  vcd = vcd || fst;
  if (vcd && out.empty()) throw InputError("--vcd needs --out DIR (the trace is written to DIR/trace.vcd)");
  if (!vcd && (vm.count("trace-from") || vm.count("trace-to")))
    throw InputError("--trace-from/--trace-to need --vcd");
  if (trace_from > trace_to)
    throw InputError("--trace-from " + std::to_string(trace_from) + " is after --trace-to " + std::to_string(trace_to));
  if (mode != "functional" && mode != "timing") throw InputError("--mode: expected functional or timing, got '" + mode + "'");
  const bool functional = mode == "functional";
  if (check && !functional) throw InputError("--check needs --mode functional (timing mode moves no data)");
  if (!functional && (!input_file.empty() || !expect_files.empty() || !dump_files.empty()))
    throw InputError("--input, --expect and --dump-output need --mode functional");
  if (check && !expect_files.empty()) throw InputError("--check and --expect are exclusive");
  if (tol.rtol < 0 || tol.atol < 0) throw InputError("--rtol and --atol must be >= 0");
  if (bw_window == 0) throw InputError("--bw-window must be > 0");
  const bool data_thread_on = parse_on_off("--data-thread", data_thread);

  ArchParams arch = load_arch(c.arch, parse_sets(c.sets));
  compiler::CompileOptions copt = compile_options(c);
  copt.materialize = functional;
  auto t0 = std::chrono::steady_clock::now();
  compiler::Graph g = compiler::load_model(c.model);
  // Codegen runs on a thread of its own while the simulation runs the words it has finished
  // (the same program and the same run as compiling first; docs/performance.md).
  compiler::StreamedCompile streamed(g, arch, copt);
  const bool started = streamed.started();

  std::vector<uint8_t> input;
  if (started && functional)
    input = input_file.empty() ? compiler::make_input(g, copt.dtype, g.seed)
                               : read_input_tensor(input_file, g.tensor(g.input).shape, copt.dtype, g.layout_free || g.time_major_input, g.batch);

  SimOptions sopt;
  sopt.functional = functional;
  sopt.bw_window = bw_window;
  sopt.timeline = !out.empty() && !no_timeline;
  sopt.data_thread = data_thread_on;
  if (!out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw InputError(out + ": cannot create the output directory (" + ec.message() + ")");
  }
  // bandwidth.csv is written as the run goes (the rows of the windows already over), on the
  // core that is idle once codegen is done.
  std::unique_ptr<BandwidthCsvStream> bw_stream;
  if (!out.empty() && started) bw_stream = std::make_unique<BandwidthCsvStream>(out, arch, bw_window);
  sopt.bw_sink = bw_stream.get();
  if (vcd) {
    sopt.vcd_path = out + "/trace.vcd";
    sopt.trace_from = trace_from;
    sopt.trace_to = trace_to;
  }
  SimResult sim;
  if (started) sim = simulate(arch, streamed.program(), input, sopt, &streamed.words());
  compiler::Program prog = streamed.finish();  // throws what compiling threw (then the run is void)  // throws what compiling threw (then the run is void)
  const double compile_s = std::chrono::duration<double>(streamed.done_at() - t0).count();
  write_schedule(c, prog);

  RunReport rep;
  rep.model_path = c.model;
  rep.model_name = g.name;
  rep.arch = &arch;
  rep.copt = copt;
  rep.functional = functional;
  rep.program = &prog;
  rep.sim = &sim;
  rep.compile_seconds = compile_s;
  rep.wall_seconds = seconds_since(t0);
  rep.bw_stream = bw_stream.get();
  if (check && sim.finished) rep.check = compare(sim.outputs, compiler::run_reference(g, copt.dtype, input), copt.dtype);
  if (!expect_files.empty() && sim.finished)
    rep.check = compare_outputs_with_files(sim.outputs, copt.dtype, expect_files, tol);
  if (!dump_files.empty() && sim.finished) dump_outputs(g, sim.outputs, copt.dtype, dump_files);
  if (!quiet) print_summary(std::cout, rep);
  if (!out.empty()) {
    write_reports(out, rep);
    if (!quiet) std::cout << "  reports          " << out << "/{report.json,layers.csv,bandwidth.csv,timeline.json}\n";
    if (vcd) {
      write_gtkw(out + "/trace.gtkw", sopt.vcd_path);
      if (!quiet) std::cout << "  waveform         " << out << "/trace.vcd   (gtkwave " << out << "/trace.vcd " << out
                            << "/trace.gtkw)\n";
    }
    if (fst) {
      const FstResult r = convert_to_fst(sopt.vcd_path, out + "/trace.fst");
      if (!r.ok) std::cerr << "fusesim: warning: " << r.message << "\n";
      else if (!quiet) std::cout << "  fst              " << r.message << "\n";
    }
  }
  if (!sim.finished) {
    std::cerr << "fusesim: run failed: " << sim.fault << "\n";
    return 1;
  }
  if (!expect_files.empty() && !rep.check.passed) {
    std::cerr << "fusesim: expect failed: " << rep.check.mismatches << " of " << rep.check.elements
              << " outputs exceed atol + rtol*|expected| (max abs err " << rep.check.max_abs_err << ", max rel err "
              << rep.check.rel_err << ")\n";
    return 1;
  }
  if (rep.check.done && !rep.check.passed) {
    std::cerr << "fusesim: check failed: " << rep.check.mismatches << " of " << rep.check.elements
              << " outputs differ from the reference (max abs err " << rep.check.max_abs_err << ")\n";
    return 1;
  }
  return 0;
}

const char* kCompileUsage =
    "usage: fusesim compile --model M [--arch A] [--emit-asm FILE] [--emit-schedule FILE] [--schedule FILE] [--report]\n"
    "Compiles the model into a program. --emit-asm writes the listing; --report prints the schedule;\n"
    "--emit-schedule writes it as YAML to edit and replay with --schedule (docs/schedule.md).";

void print_schedule(std::ostream& os, const compiler::Program& p) {
  os << std::left << std::setw(5) << "#" << std::setw(28) << "group" << std::setw(36) << "tiles" << std::right
     << std::setw(16) << "MACs" << std::setw(14) << "est cycles" << std::setw(16) << "est DRAM B" << std::setw(12)
     << "on-chip B" << "  layers\n";
  for (std::size_t i = 0; i < p.schedule.size(); ++i) {
    const auto& s = p.schedule[i];
    std::string members;
    for (const auto& m : s.members) members += (members.empty() ? "" : ",") + m;
    os << std::left << std::setw(5) << i << std::setw(28) << s.name << std::setw(36) << s.tiles << std::right
       << std::setw(16) << s.macs << std::setw(14) << s.est_cycles << std::setw(16) << s.est_dram_bytes << std::setw(12)
       << s.onchip_bytes << "  " << members << "\n";
  }
  if (p.batch > 1) {
    int64_t est = 0;
    for (const auto& s : p.schedule) est += s.est_cycles;
    os << "batch " << p.batch << ": MACs and estimates are the whole batch's; " << est / p.batch
       << " estimated cycles per sample\n";
  }
}

int cmd_compile(const std::vector<std::string>& args) {
  CommonOptions c;
  std::string asm_file;
  bool report = false;
  po::options_description desc("compile options");
  desc.add_options()("help,h", "show this help");
  add_model_options(desc, c);
  desc.add_options()
      ("emit-asm", po::value(&asm_file), "write the program listing to FILE ('-' for stdout)")
      ("report", po::bool_switch(&report), "print each group's layers, tiles and estimates");
  po::variables_map vm;
  if (!parse(args, desc, vm, kCompileUsage)) return 0;
  ArchParams arch = load_arch(c.arch, parse_sets(c.sets));
  compiler::CompileOptions copt = compile_options(c);
  copt.materialize = false;
  auto t0 = std::chrono::steady_clock::now();
  compiler::Graph g = compiler::load_model(c.model);
  compiler::Program prog = compiler::compile(g, arch, copt);
  const double secs = seconds_since(t0);
  write_schedule(c, prog);
  if (!asm_file.empty()) {
    std::ofstream f;
    if (asm_file != "-") {
      f.open(asm_file);
      if (!f) throw InputError("--emit-asm: cannot write " + asm_file);
    }
    std::ostream& os = asm_file == "-" ? std::cout : f;
    os << "; fusesim " << version() << " ISA v" << isa::kIsaVersion << ": " << g.name << " on " << arch.name
       << ", " << prog.instrs.size() << " instructions at 0x" << std::hex << prog.prog_addr << std::dec << "\n";
    for (std::size_t i = 0; i < prog.instrs.size(); ++i)
      os << std::setw(7) << i << ": " << isa::disassemble(prog.instrs[i]) << "\n";
  }
  if (report || (asm_file.empty() && c.emit_schedule.empty())) print_schedule(std::cout, prog);
  if (c.emit_schedule == "-") return 0;  // stdout holds the YAML
  std::cout << g.name << (prog.batch > 1 ? " at batch " + std::to_string(prog.batch) : std::string()) << ": "
            << prog.instrs.size() << " instructions, " << prog.schedule.size() << " groups, compiled in " << std::fixed << std::setprecision(3) << secs << " s\n";
  return 0;
}

const char* kInspectUsage =
    "usage: fusesim inspect --model M [--json] [--canonical]\n"
    "Prints each layer's op, output shape, MACs and parameters (and, with --json, activation), and the totals.";

int cmd_inspect(const std::vector<std::string>& args) {
  std::string model;
  bool json = false, canonical = false;
  po::options_description desc("inspect options");
  desc.add_options()("help,h", "show this help")
      ("model,m", po::value(&model)->required(), "network: models/*.yaml or an .onnx file")
      ("json", po::bool_switch(&json), "print JSON (top-level macs and params)")
      ("canonical", po::bool_switch(&canonical), "after canonicalization (BatchNorm folded, activations merged)");
  po::variables_map vm;
  if (!parse(args, desc, vm, kInspectUsage)) return 0;
  compiler::Graph g = compiler::load_model(model);
  if (canonical)
    compiler::canonicalize_for_inspect(g);
  else
    compiler::infer_shapes(g);
  const auto order = g.topo_order();
  if (json) {
    JsonWriter j(std::cout);
    j.begin_object();
    j.kv("model", g.name).kv("input", g.tensor(g.input).shape.str()).kv("batch", g.batch);
    j.kv("macs", g.total_macs()).kv("params", g.total_params());
    j.kv("layers_count", static_cast<uint64_t>(order.size()));
    j.begin_array("layers");
    for (int id : order) {
      const auto& l = g.layer(id);
      j.begin_object();
      j.kv("name", l.name).kv("op", compiler::op_kind_name(l.op)).kv("output", g.tensor(l.output).shape.str());
      j.kv("act", isa::activation_name(l.attrs.act));
      j.kv("macs", g.layer_macs(id)).kv("params", g.layer_params(id));
      j.end_object();
    }
    j.end_array();
    j.end_object();
    return 0;
  }
  std::cout << g.name << ": input " << g.tensor(g.input).shape.str()
            << (g.batch > 1 ? " (batch " + std::to_string(g.batch) + ")" : std::string()) << ", " << order.size()
            << " layers\n";
  std::cout << std::left << std::setw(36) << "layer" << std::setw(16) << "op" << std::setw(16) << "output"
            << std::right << std::setw(16) << "MACs" << std::setw(14) << "params" << "\n";
  for (int id : order) {
    const auto& l = g.layer(id);
    std::cout << std::left << std::setw(36) << l.name << std::setw(16) << compiler::op_kind_name(l.op) << std::setw(16)
              << g.tensor(l.output).shape.str() << std::right << std::setw(16) << g.layer_macs(id) << std::setw(14)
              << g.layer_params(id) << "\n";
  }
  std::cout << std::left << std::setw(68) << "total" << std::right << std::setw(16) << g.total_macs() << std::setw(14)
            << g.total_params() << "\n";
  return 0;
}

}  // namespace

std::string default_arch_file() { return default_arch(); }

int cli_main(int argc, char* argv[]) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) {
      std::cerr << kUsage;
      return 2;
    }
    const std::string cmd = args[0];
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (cmd == "--version" || cmd == "-V") {
      std::cout << "fusesim " << version() << " (ISA v" << isa::kIsaVersion << ", SystemC " << sc_core::sc_release()
                << ")\n";
      return 0;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "run") return cmd_run(rest);
    if (cmd == "compile") return cmd_compile(rest);
    if (cmd == "inspect") return cmd_inspect(rest);
    if (cmd == "sweep") return sweep_main(rest);
    if (cmd == "sweep-status") return sweep::sweep_status_main(rest);
    if (cmd == "sweep-task") return sweep::sweep_task_main(rest);
    if (cmd == "onnx-test") return onnx_test_main(rest);
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::cerr << "fusesim: error: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const InputError& e) {
    std::cerr << "fusesim: error: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "fusesim: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fusesim: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fusesim
