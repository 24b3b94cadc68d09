// Fusion planning: partitions the topological order into groups. A fused group is a chain of
// consecutive layers (each reads only its predecessor, whose output nobody else reads) of
// window ops, optionally closed by a residual Add of the chain's input and output. A group is
// admitted only if the cost model says it is faster than running its layers one by one and its
// DRAM traffic (exact for a given tiling) is not higher, so fusion never increases DRAM traffic.
//
//   greedy:  walk the order; extend the current group by the next layer while that lowers
//            the estimated cycles of the pair (group so far, next layer).
//   optimal: dynamic program over the topological order,
//              best[i] = min over j of best[j] + cost(layers j..i-1),
//            over every admissible group j..i-1 of at most kMaxGroup layers (an Add at i-1
//            closes the chains j..i-2 it is the residual of). Cost-model calls:
//            O(N * kMaxGroup) group plans, each a tile search over the last layer's output
//            (O(H * W) candidates in the worst case), so O(N * kMaxGroup * H * W * kMaxGroup).
//            The result is optimal for the cost model over contiguous chains.
#include "codegen.h"
#include "fused.h"
#include "passes.h"

#include <algorithm>
#include <limits>

#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

constexpr std::size_t kMaxGroup = 10;

struct Scorer {
  const Graph& g;
  const ArchParams& arch;
  const CompileOptions& opt;
  std::vector<Estimate> single;  // per position in the order
  std::vector<bool> single_ok;

  bool group(const std::vector<int>& ids, Estimate& e) const {
    return estimate_group(g, arch, opt, Group{ids}, e);
  }
};

}  // namespace

bool fusable_pair(const Graph& g, int a, int b) {
  if (!fusable_kind(g, a) || !fusable_kind(g, b)) return false;
  const LayerNode& la = g.layer(a);
  const LayerNode& lb = g.layer(b);
  // an fc fuses only with matrix-vector layers (fc chains: the vector stays in NBout)
  if (la.op == OpKind::FullyConnected || lb.op == OpKind::FullyConnected) {
    WinLayer wa, wb;
    return win_layer_of(g, a, wa) && win_layer_of(g, b, wb) && wa.is_vector() && wb.is_vector() && vector_link(g, a, b);
  }
  if (lb.inputs.size() != 1 || lb.inputs[0] != la.output) return false;
  const DataNode& d = g.tensor(la.output);
  if (d.consumers.size() != 1 || d.consumers[0] != b || g.is_output(la.output) || d.alias_of >= 0) return false;
  for (const DataNode& x : g.data)
    if (x.alias_of == la.output) return false;
  return true;
}

bool dag_closed_by_add(const Graph& g, const std::vector<int>& ids, int add) {
  std::vector<int> src;
  if (ids.empty() || !fusable_dag(g, ids, src)) return false;
  std::vector<FusedLayer> L(ids.size());
  bool chain = true;
  for (std::size_t i = 0; i < ids.size(); ++i) chain = chain && src[i] == static_cast<int>(i) - 1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    L[i].id = ids[i];
    if (!chain) L[i].src = src[i];
  }
  return attach_add(g, ids, add, L);
}

std::string fusable_group(const Graph& g, const std::vector<int>& ids) {
  if (ids.size() < 2) return "a fused group has at least two layers";
  std::vector<int> src;
  std::string dag_why;
  if (g.layer(ids.back()).op != OpKind::Add && fusable_dag(g, ids, src, &dag_why)) {
    bool chain = true;
    for (std::size_t i = 0; i < src.size(); ++i) chain = chain && src[i] == static_cast<int>(i) - 1;
    bool grouped = false;
    for (int id : ids) grouped = grouped || !fusable_kind(g, id);
    if (!chain || grouped) return "";  // a DAG group with one entry, or grouped convs (line-buffered)
  }
  const bool add = g.layer(ids.back()).op == OpKind::Add;
  const std::size_t n = ids.size() - (add ? 1 : 0);
  if (add && n >= 1 && dag_closed_by_add(g, std::vector<int>(ids.begin(), ids.begin() + static_cast<long>(n)), ids.back()))
    return "";  // a block whose Add sums two of its tensors (line-buffered)
  if (!fusable_kind(g, ids[0]))
    return "'" + g.layer(ids[0]).name + "' cannot be fused (conv, depthwise conv and pooling layers fuse, and fc layers with fc layers)";
  for (std::size_t k = 0; k + 1 < n; ++k)
    if (!fusable_pair(g, ids[k], ids[k + 1]))
      return "'" + g.layer(ids[k]).name + "' -> '" + g.layer(ids[k + 1]).name +
             "' cannot be fused (a fused group is a chain of conv/pool layers, or of fc layers, whose intermediates have "
             "no other reader, optionally closed by a residual add)";
  if (add && !residual_tail(g, std::vector<int>(ids.begin(), ids.begin() + static_cast<long>(n)), ids.back()))
    return "'" + g.layer(ids.back()).name + "' does not add the group's input to its output (a residual of a stride-1 chain)";
  return "";
}

namespace {

// --fuse FIRST:LAST: positions [first, last] in the order, validated as a fusable chain.
std::vector<std::pair<std::size_t, std::size_t>> manual_groups(const Graph& g, const std::vector<int>& order,
                                                               const CompileOptions& opt) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  auto pos_of = [&](const std::string& name) {
    for (std::size_t i = 0; i < order.size(); ++i)
      if (g.layer(order[i]).name == name) return i;
    throw InputError("--fuse: no layer '" + name + "' in " + g.name +
                     " (after canonicalization and elimination; see fusesim inspect)");
  };
  for (const auto& [a, b] : opt.fuse) {
    const std::size_t i = pos_of(a), j = pos_of(b);
    if (j <= i) throw InputError("--fuse " + a + ":" + b + ": '" + b + "' does not come after '" + a + "'");
    const std::string why =
        fusable_group(g, std::vector<int>(order.begin() + static_cast<long>(i), order.begin() + static_cast<long>(j) + 1));
    if (!why.empty()) throw InputError("--fuse " + a + ":" + b + ": " + why);
    for (const auto& [x, y] : out)
      if (!(j < x || i > y)) throw InputError("--fuse " + a + ":" + b + ": overlaps another --fuse group");
    out.emplace_back(i, j);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<Group> plan_groups(const Graph& g, const ArchParams& arch, const CompileOptions& opt) {
  const std::vector<int> order = g.topo_order();
  const std::size_t n = order.size();
  std::vector<Group> groups;
  if (!opt.fuse.empty()) {
    if (!opt.elimination) throw InputError("--fuse needs --elimination on (fused groups keep intermediates on chip)");
    const auto manual = manual_groups(g, order, opt);
    std::size_t k = 0;
    for (std::size_t i = 0; i < n;) {
      if (k < manual.size() && manual[k].first == i) {
        groups.push_back(Group{std::vector<int>(order.begin() + static_cast<long>(i),
                                                order.begin() + static_cast<long>(manual[k].second) + 1)});
        i = manual[k++].second + 1;
      } else {
        groups.push_back(Group{{order[i++]}});
      }
    }
    return groups;
  }
  // Fusion keeps intermediates on chip, which is layer elimination's removal of the
  // store->load pairs; with elimination off every layer stays its own group.
  if (opt.fusion == Fusion::None || !opt.elimination) {
    for (int id : order) groups.push_back(Group{{id}});
    return groups;
  }
  Scorer sc{g, arch, opt, std::vector<Estimate>(n), std::vector<bool>(n)};
  for (std::size_t i = 0; i < n; ++i) sc.single_ok[i] = sc.group({order[i]}, sc.single[i]);
  // Whether the Add at i closes the chain j..i-1 as a residual.
  auto residual_closes = [&](std::size_t j, std::size_t i) {
    return j < i && g.layer(order[i]).op == OpKind::Add &&
           residual_tail(g, std::vector<int>(order.begin() + static_cast<long>(j), order.begin() + static_cast<long>(i)),
                         order[i]);
  };
  // Admissible group j..i (inclusive): a chain, plannable, not more DRAM bytes than unfused.
  auto admissible = [&](std::size_t j, std::size_t i, Estimate& e) {
    int64_t bytes = 0;
    for (std::size_t k = j; k <= i; ++k) {
      if (!sc.single_ok[k]) return false;
      bytes += sc.single[k].dram_bytes_with_fetch();
    }
    std::vector<int> ids(order.begin() + static_cast<long>(j), order.begin() + static_cast<long>(i) + 1);
    return sc.group(ids, e) && e.dram_bytes_with_fetch() <= bytes;
  };
  if (opt.fusion == Fusion::Greedy) {
    std::size_t start = 0;
    Estimate cur = sc.single[0];
    bool closed = false;  // a residual Add ends its group
    for (std::size_t i = 1; i <= n; ++i) {
      Estimate ext;
      const bool links = i < n && !closed &&
                         (fusable_pair(g, order[i - 1], order[i]) || residual_closes(start, i));
      if (links && i - start < kMaxGroup && admissible(start, i, ext) && ext.cycles < cur.cycles + sc.single[i].cycles) {
        cur = ext;
        closed = g.layer(order[i]).op == OpKind::Add;
        continue;
      }
      closed = false;
      groups.push_back(Group{std::vector<int>(order.begin() + static_cast<long>(start), order.begin() + static_cast<long>(i))});
      if (i < n) start = i, cur = sc.single[i];
    }
    return groups;
  }
  // Optimal: DP over prefixes. DAG groups (not chains) are line-buffered only.
  const bool dag_groups = opt.overlap != Overlap::Recompute;
  const int64_t inf = std::numeric_limits<int64_t>::max() / 4;
  std::vector<int64_t> best(n + 1, inf);
  std::vector<std::size_t> from(n + 1, 0);
  best[0] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // the group ending at i, starting at j (walk j down while the chain holds); a residual Add
    // at i closes the chain j..i-1
    const bool add = g.layer(order[i]).op == OpKind::Add;
    for (std::size_t j = i + 1; j-- > 0;) {
      if (i - j + 1 > kMaxGroup) break;
      if (add && j < i) {
        // a chain closed by a residual, or (line-buffered) a block whose Add sums two of its
        // tensors: a downsampling ResNet block
        const bool closes = fusable_kind(g, order[j]) && residual_closes(j, i);
        if (!closes && !(dag_groups && dag_closed_by_add(g, std::vector<int>(order.begin() + static_cast<long>(j),
                                                                              order.begin() + static_cast<long>(i)),
                                                          order[i])))
          continue;
      } else if (j < i && !fusable_pair(g, order[j], order[j + 1])) {
        // not a chain from j: a DAG group j..i (a fire or inception module) may still be one
        std::vector<int> src;
        if (!dag_groups || !fusable_dag(g, std::vector<int>(order.begin() + static_cast<long>(j),
                                                            order.begin() + static_cast<long>(i) + 1), src))
          continue;
      }
      if (best[j] >= inf) continue;
      int64_t c;
      if (j == i) {
        c = sc.single[i].cycles;
      } else {
        Estimate e;
        if (!admissible(j, i, e)) continue;
        c = e.cycles;
      }
      if (best[j] + c < best[i + 1]) best[i + 1] = best[j] + c, from[i + 1] = j;
    }
  }
  std::vector<Group> rev;
  for (std::size_t i = n; i > 0; i = from[i])
    rev.push_back(Group{std::vector<int>(order.begin() + static_cast<long>(from[i]), order.begin() + static_cast<long>(i))});
  groups.assign(rev.rbegin(), rev.rend());
  return groups;
}

}  // namespace fusesim::compiler
