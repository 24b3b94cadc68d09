// Writing a Schedule as YAML and reading a (hand-edited) one back, checked against the graph
// and the arch. See schedule_yaml.h; the format is documented in docs/schedule.md.
#include "compiler/schedule_yaml.h"

#include <yaml-cpp/yaml.h>

#include <map>

#include "compiler/codegen.h"
#include "isa/errors.h"
#include "isa/yaml_util.h"

namespace fusesim::compiler {
namespace {

const char* dtype_name(isa::DType t) { return t == isa::DType::Int16 ? "int16" : "fp32"; }
const char* buffers_name(int depth) { return depth == 2 ? "halves" : "whole"; }
const char* weights_name(bool resident) { return resident ? "resident" : "streamed"; }
const char* order_name(bool weight_stationary) { return weight_stationary ? "weight-stationary" : "spatial"; }
bool has_weights(WinKind k) { return k == WinKind::Conv || k == WinKind::DwConv; }

// The keys a tile or a channel chunk takes depend on the layer: only dense convs (and fc) tile
// input channels apart from output channels, and only layers with weights have a loop order
// and a weight residency.
std::vector<std::string> tile_keys(WinKind k) {
  std::vector<std::string> keys{"co"};
  if (k == WinKind::Conv) keys.push_back("ci");
  keys.insert(keys.end(), {"rows", "cols"});
  if (has_weights(k)) keys.insert(keys.end(), {"order", "weights"});
  if (k == WinKind::Conv) keys.push_back("samples");  // Tile::tb (fc layers at batch > 1)
  return keys;
}

WinLayer window_of(const Graph& g, int id) {
  WinLayer wl;
  if (!win_layer_of(g, id, wl))
    throw std::logic_error("layer '" + g.layer(id).name + "' is not a window layer");
  return wl;
}

// The live layers by name. A schedule names layers, so their names must be unique.
std::map<std::string, int> layers_by_name(const Graph& g, const std::vector<int>& order) {
  std::map<std::string, int> out;
  for (int id : order)
    if (!out.emplace(g.layer(id).name, id).second)
      throw InputError("model '" + g.name + "': two layers are named '" + g.layer(id).name +
                       "', so a schedule cannot name them apart");
  return out;
}

void emit_tile(YAML::Emitter& y, const WinLayer& wl, const TilePlan& tp) {
  y << YAML::Flow << YAML::BeginMap << YAML::Key << "co" << YAML::Value << tp.tile.tco;
  if (wl.kind == WinKind::Conv) y << YAML::Key << "ci" << YAML::Value << tp.tile.tci;
  y << YAML::Key << "rows" << YAML::Value << tp.tile.tr << YAML::Key << "cols" << YAML::Value << tp.tile.tc;
  if (has_weights(wl.kind))
    y << YAML::Key << "order" << YAML::Value << order_name(tp.weight_stationary) << YAML::Key << "weights"
      << YAML::Value << weights_name(tp.resident_weights);
  if (tp.tile.tb > 1) y << YAML::Key << "samples" << YAML::Value << tp.tile.tb;
  y << YAML::EndMap;
}

void emit_group(YAML::Emitter& y, const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                const GroupSchedule& gs) {
  using YAML::Key, YAML::Value, YAML::BeginMap, YAML::EndMap, YAML::Flow;
  y << BeginMap << Key << "layers" << Value << Flow << YAML::BeginSeq;
  for (int id : gs.layers) y << g.layer(id).name;
  y << YAML::EndSeq << Key << "buffers" << Value << buffers_name(gs.depth);
  if (gs.fused()) {
    const FusedPlan& p = gs.fused_plan;
    const bool line = p.overlap != Overlap::Recompute;
    y << Key << "fused" << Value << Flow << BeginMap << Key << "overlap" << Value << overlap_name(p.overlap);
    if (line) {
      y << Key << "col_tiles" << Value << p.col_tiles;
      if (p.strips > 1) y << Key << "strips" << Value << p.strips;
    } else
      y << Key << "rows" << Value << p.tr << Key << "cols" << Value << p.tc;
    y << Key << "weights" << Value << weights_name(p.resident);
    if (!line) y << Key << "chunked" << Value << p.chunked;
    y << EndMap;
    y << Key << "chunks" << Value << Flow << BeginMap;
    for (const FusedLayer& f : p.layers) {
      y << Key << g.layer(f.id).name << Value << Flow << BeginMap << Key << "co" << Value << f.tco;
      if (f.wl.kind == WinKind::Conv) y << Key << "ci" << Value << f.tci;
      if (line) y << Key << "rows" << Value << f.rows;
      y << EndMap;
    }
    y << EndMap;
  } else if (!gs.plans.empty()) {
    y << Key << "tiles" << Value << Flow << BeginMap;
    for (int id : gs.layers) {
      auto it = gs.plans.find(id);
      if (it == gs.plans.end()) continue;
      y << Key << g.layer(id).name << Value;
      emit_tile(y, window_of(g, id), it->second);
    }
    y << EndMap;
  }
  y << Key << "estimate" << Value << Flow << BeginMap << Key << "cycles" << Value << gs.est.cycles << Key
    << "dram_bytes" << Value << gs.est.dram_bytes() << Key << "onchip_bytes" << Value << gs.est.onchip
    << EndMap;
  y << Key << "slots" << Value << YAML::BeginSeq;
  for (const BufferSlot& s : group_slots(g, arch, opt, gs))
    y << Flow << BeginMap << Key << "buffer" << Value << isa::buffer_name(s.buf) << Key << "addr" << Value
      << s.addr << Key << "bytes" << Value << s.bytes << Key << "count" << Value << s.count << Key << "what"
      << Value << s.what << EndMap;
  y << YAML::EndSeq << EndMap;
}

// Reads one schedule file; every failure names the node's file:line:col and key path.
class ScheduleReader {
 public:
  ScheduleReader(const std::string& file, const Graph& g, const ArchParams& arch, const CompileOptions& opt)
      : file_(file),
        g_(g),
        arch_(arch),
        opt_(opt),
        order_(g.topo_order()),
        by_name_(layers_by_name(g, order_)) {}

  Schedule read() {
    const YAML::Node root = yamlu::load_file(file_);
    if (!root.IsMap()) fail(root, "", "expected a schedule (a map with model and groups; docs/schedule.md)");
    yamlu::expect_keys(file_, root, "",
                       {"model", "arch", "dtype", "pipeline", "elimination", "batch", "groups"});
    check_header(root);
    const YAML::Node groups = need(root, "groups", "");
    if (!groups.IsSequence()) fail(groups, "groups", "expected a list of groups");
    Schedule s;
    for (std::size_t i = 0; i < groups.size(); ++i)
      s.groups.push_back(read_group(groups[i], "groups[" + std::to_string(i) + "]", i));
    if (next_ < order_.size())
      fail(groups, "groups",
           "layer '" + g_.layer(order_[next_]).name +
               "' is in no group (every layer is in exactly one group)");
    return s;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& msg) const {
    yamlu::fail(file_, n, path, msg);
  }

  YAML::Node need(const YAML::Node& map, const std::string& key, const std::string& path) const {
    const YAML::Node n = map[key];
    if (!n) fail(map, path, "missing key '" + key + "'");
    return n;
  }

  std::string one_of(const YAML::Node& n, const std::string& path,
                     const std::vector<std::string>& values) const {
    const std::string v = yamlu::as_string(file_, n, path);
    std::string list;
    for (const std::string& a : values) {
      if (v == a) return v;
      list += (list.empty() ? "" : " or ") + a;
    }
    fail(n, path, "expected " + list + ", got '" + v + "'");
  }

  int64_t positive(const YAML::Node& map, const std::string& key, const std::string& path) const {
    const std::string p = yamlu::join(path, key);
    const YAML::Node n = need(map, key, path);
    const int64_t v = yamlu::as_int(file_, n, p);
    if (v < 1) fail(n, p, "expected a positive integer, got " + std::to_string(v));
    return v;
  }

  // The settings the schedule was written for: the model must be the one compiled; dtype,
  // pipeline and elimination change the layers or the buffer halves, so they must match the
  // options; the arch is informational (the tiles are checked against the arch in use).
  void check_header(const YAML::Node& root) const {
    const std::string model = yamlu::as_string(file_, need(root, "model", ""), "model");
    if (model != g_.name)
      fail(root["model"], "model", "the schedule is for model '" + model + "', not '" + g_.name + "'");
    if (root["arch"]) (void)yamlu::as_string(file_, root["arch"], "arch");
    auto same = [&](const char* key, const std::string& want, const std::string& flag) {
      if (!root[key]) return;
      const std::string v = yamlu::as_string(file_, root[key], key);
      if (v != want)
        fail(root[key], key,
             "the schedule was written for " + flag + " " + v + ", but this compile uses " + flag + " " +
                 want);
    };
    same("dtype", dtype_name(opt_.dtype), "--dtype");
    same("pipeline", pipeline_name(opt_.pipeline), "--pipeline");
    same("elimination", opt_.elimination ? "on" : "off", "--elimination");
    same("batch", std::to_string(g_.batch), "--batch");
  }

  // The group's layer ids: known, scheduled, in topological order, each once.
  std::vector<int> read_layers(const YAML::Node& group, const std::string& path, std::size_t gi) {
    const std::string lp = path + ".layers";
    const YAML::Node list = need(group, "layers", path);
    if (!list.IsSequence() || list.size() == 0) fail(list, lp, "expected a non-empty list of layer names");
    std::vector<int> ids;
    for (std::size_t k = 0; k < list.size(); ++k) {
      const std::string kp = lp + "[" + std::to_string(k) + "]";
      const std::string name = yamlu::as_string(file_, list[k], kp);
      auto it = by_name_.find(name);
      if (it == by_name_.end()) {
        bool removed = false;
        for (const LayerNode& l : g_.layers) removed = removed || (l.name == name && l.removed);
        fail(list[k], kp,
             removed ? "layer '" + name +
                           "' is removed by canonicalization or layer elimination: it is not scheduled"
                     : "unknown layer '" + name + "' (model '" + g_.name + "' has no such layer)");
      }
      const int id = it->second;
      if (next_ < order_.size() && order_[next_] == id) {
        placed_[id] = gi;
        ids.push_back(id);
        ++next_;
        continue;
      }
      auto seen = placed_.find(id);
      if (seen != placed_.end())
        fail(list[k], kp, "layer '" + name + "' is already in groups[" + std::to_string(seen->second) + "]");
      fail(list[k], kp,
           "layer '" + name + "' is out of order: the next layer in topological order is '" +
               g_.layer(order_[next_]).name +
               "' (groups list the layers in the order the schedule was written)");
    }
    return ids;
  }

  void read_tile(const YAML::Node& tiles, const std::string& path, int id, GroupSchedule& gs) const {
    const std::string name = g_.layer(id).name;
    const std::string tp_path = yamlu::join(path, name);
    const YAML::Node t = tiles[name];
    if (!t) fail(tiles, path, "missing the tile of layer '" + name + "'");
    const WinLayer wl = window_of(g_, id);
    yamlu::expect_keys(file_, t, tp_path, tile_keys(wl.kind));
    TilePlan tp;
    tp.tile.tco = positive(t, "co", tp_path);
    tp.tile.tci = wl.kind == WinKind::Conv ? positive(t, "ci", tp_path) : tp.tile.tco;
    tp.tile.tr = positive(t, "rows", tp_path);
    tp.tile.tc = positive(t, "cols", tp_path);
    if (t["samples"]) tp.tile.tb = positive(t, "samples", tp_path);
    if (has_weights(wl.kind)) {
      tp.weight_stationary = one_of(need(t, "order", tp_path), tp_path + ".order",
                                    {"spatial", "weight-stationary"}) != "spatial";
      tp.resident_weights =
          one_of(need(t, "weights", tp_path), tp_path + ".weights", {"resident", "streamed"}) == "resident";
    }
    gs.plans[id] = tp;
  }

  // A group of one layer: a tile for a window layer, nothing for an elementwise one.
  void read_unfused(const YAML::Node& group, const std::string& path, GroupSchedule& gs) const {
    for (const char* key : {"fused", "chunks"})
      if (group[key])
        fail(group[key], path + "." + key, "a group of one layer has tiles, not fused and chunks");
    const int id = gs.layers.front();
    const LayerNode& l = g_.layer(id);
    WinLayer wl;
    const bool window = win_layer_of(g_, id, wl);
    const YAML::Node tiles = group["tiles"];
    if (!window) {
      if (tiles)
        fail(tiles, path + ".tiles",
             "layer '" + l.name + "' (" + op_kind_name(l.op) + ") is elementwise: it has no tile");
      return;
    }
    if (!tiles) fail(group, path, "missing key 'tiles' (the tile of layer '" + l.name + "')");
    yamlu::expect_keys(file_, tiles, path + ".tiles", {l.name});
    read_tile(tiles, path + ".tiles", id, gs);
  }

  // A fused group: one tile of the last layer's output and per-layer channel chunks.
  void read_fused(const YAML::Node& group, const std::string& path, GroupSchedule& gs) const {
    if (group["tiles"])
      fail(group["tiles"], path + ".tiles", "a fused group has fused and chunks, not tiles");
    // The window layers of the chain take chunks; a residual Add may close it.
    FusedPlan& plan = gs.fused_plan;
    std::vector<int> chain = gs.layers;
    if (g_.layer(chain.back()).op == OpKind::Add) {
      plan.add_id = chain.back();
      chain.pop_back();
    }
    const YAML::Node layers = group["layers"];
    for (std::size_t k = 0; k < chain.size(); ++k)
      if (!fusable_kind(g_, chain[k], true))
        fail(layers[k], path + ".layers[" + std::to_string(k) + "]",
             "layer '" + g_.layer(chain[k]).name + "' (" + op_kind_name(g_.layer(chain[k]).op) +
                 ") cannot be in a fused group (fused groups are chains of conv, depthwise conv and pooling "
                 "layers, optionally closed by a residual add, or chains of fc layers)");
    const std::string fp = path + ".fused";
    const YAML::Node fused = need(group, "fused", path);
    yamlu::expect_keys(file_, fused, fp, {"overlap", "rows", "cols", "col_tiles", "strips", "weights", "chunked"});
    plan.overlap = Overlap::Recompute;
    if (fused["overlap"]) {
      const std::string o = one_of(fused["overlap"], fp + ".overlap", {"recompute", "cache-rows", "cache-all"});
      plan.overlap = o == "cache-rows" ? Overlap::CacheRows : o == "cache-all" ? Overlap::CacheAll : Overlap::Recompute;
    }
    const bool line = plan.overlap != Overlap::Recompute;
    for (const char* k : {"rows", "cols", "chunked"})
      if (line && fused[k])
        fail(fused[k], yamlu::join(fp, k), std::string("a line-buffered group (overlap ") + overlap_name(plan.overlap) +
                                               ") has col_tiles and per-layer rows in its chunks, not '" + k + "'");
    for (const char* k : {"col_tiles", "strips"})
      if (!line && fused[k])
        fail(fused[k], yamlu::join(fp, k), std::string(k) + " belongs to line-buffered groups (overlap cache-rows or cache-all)");
    plan.tr = line ? 1 : positive(fused, "rows", fp);
    plan.tc = line ? 1 : positive(fused, "cols", fp);
    plan.col_tiles = line ? (fused["col_tiles"] ? positive(fused, "col_tiles", fp) : 1) : 1;
    plan.strips = line && fused["strips"] ? positive(fused, "strips", fp) : 1;
    plan.resident =
        one_of(need(fused, "weights", fp), fp + ".weights", {"resident", "streamed"}) == "resident";
    plan.chunked = fused["chunked"] && yamlu::as_bool(file_, fused["chunked"], fp + ".chunked");
    const std::string cp = path + ".chunks";
    const YAML::Node chunks = need(group, "chunks", path);
    std::vector<std::string> names;
    for (int id : chain) names.push_back(g_.layer(id).name);
    yamlu::expect_keys(file_, chunks, cp, names);
    for (int id : chain) {
      const std::string& name = g_.layer(id).name;
      const YAML::Node c = chunks[name];
      if (!c) fail(chunks, cp, "missing the chunks of layer '" + name + "'");
      const std::string lp = yamlu::join(cp, name);
      const bool dense = window_of(g_, id).kind == WinKind::Conv;
      std::vector<std::string> keys = dense ? std::vector<std::string>{"co", "ci"} : std::vector<std::string>{"co"};
      if (line) keys.push_back("rows");
      yamlu::expect_keys(file_, c, lp, keys);
      FusedLayer f;
      f.id = id;
      f.tco = positive(c, "co", lp);
      f.tci = dense ? positive(c, "ci", lp) : 1;
      f.rows = line ? positive(c, "rows", lp) : 1;
      plan.layers.push_back(f);
    }
  }

  GroupSchedule read_group(const YAML::Node& group, const std::string& path, std::size_t gi) {
    yamlu::expect_keys(file_, group, path,
                       {"layers", "buffers", "fused", "chunks", "tiles", "estimate", "slots"});
    GroupSchedule gs;
    gs.layers = read_layers(group, path, gi);
    const YAML::Node buffers = need(group, "buffers", path);
    gs.depth = one_of(buffers, path + ".buffers", {"whole", "halves"}) == "halves" ? 2 : 1;
    if (gs.fused())
      read_fused(group, path, gs);
    else
      read_unfused(group, path, gs);
    const std::string why = check_group(g_, arch_, opt_, gs);
    if (!why.empty()) blame(group, path, gs, why);
    return gs;
  }

  // check_group says what is wrong; the node it concerns is the one the user has to edit: the
  // buffer view, the layer list (not a fusable group), the channel chunks (their reasons say
  // "chunk" of a layer, or which input channels the first layer loads), else the fused tile, or
  // the tile of an unfused layer.
  [[noreturn]] void blame(const YAML::Node& group, const std::string& path, const GroupSchedule& gs,
                          const std::string& why) const {
    if (gs.depth > pipe_mode(opt_.pipeline).depth) fail(group["buffers"], path + ".buffers", why);
    if (gs.fused()) {
      if (why.rfind("the fused tile does not fit", 0) != 0) fail(group["layers"], path + ".layers", why);
      bool chunk = false;
      for (const char* about_chunks :
           {"channel chunk", "weight chunk", "every layer but the last", "input channels"})
        chunk = chunk || why.find(about_chunks) != std::string::npos;
      fail(group[chunk ? "chunks" : "fused"], path + (chunk ? ".chunks" : ".fused"), why);
    }
    const std::string& name = g_.layer(gs.layers.front()).name;
    fail(group["tiles"][name], path + ".tiles." + name, why);
  }

  const std::string& file_;
  const Graph& g_;
  const ArchParams& arch_;
  const CompileOptions& opt_;
  const std::vector<int> order_;
  const std::map<std::string, int> by_name_;
  std::size_t next_ = 0;               // index in order_ of the next layer a group must list
  std::map<int, std::size_t> placed_;  // layer id -> its group
};

}  // namespace

std::string write_schedule_yaml(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                                const Schedule& s, const std::string& origin) {
  layers_by_name(g, g.topo_order());
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "model" << YAML::Value << g.name;
  y << YAML::Key << "arch" << YAML::Value << arch.name;
  y << YAML::Key << "dtype" << YAML::Value << dtype_name(opt.dtype);
  y << YAML::Key << "pipeline" << YAML::Value << pipeline_name(opt.pipeline);
  y << YAML::Key << "elimination" << YAML::Value << (opt.elimination ? "on" : "off");
  if (g.batch > 1) y << YAML::Key << "batch" << YAML::Value << g.batch;
  y << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const GroupSchedule& gs : s.groups) emit_group(y, g, arch, opt, gs);
  y << YAML::EndSeq << YAML::EndMap;
  const std::string head =
      "# fusesim schedule: " + g.name + " on " + arch.name + " (" + dtype_name(opt.dtype) + ", pipeline " +
      pipeline_name(opt.pipeline) + "), groups from " + origin +
      ".\n"
      "# Edit and replay with: fusesim run --schedule FILE. Per group: layers, buffers (whole |\n"
      "# halves), tiles (one layer) or fused + chunks (a fused chain). estimate and slots are\n"
      "# derived, written for reading and ignored on replay. Keys: docs/schedule.md.\n";
  return head + y.c_str() + "\n";
}

Schedule read_schedule_yaml(const std::string& file, const Graph& g, const ArchParams& arch,
                            const CompileOptions& opt) {
  return ScheduleReader(file, g, arch, opt).read();
}

}  // namespace fusesim::compiler
