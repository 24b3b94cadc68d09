// Layer elimination: layers that only move data disappear. identity, dropout, flatten and
// reshape alias their input (the C x H x W layout in DRAM is already the flattened layout);
// concat disappears when each producer writes straight into its channel slice of the output,
// and a channel slice (a split) becomes a view its consumers read in place: channels
// [off, off + c) of a C x H x W tensor are one contiguous range either way. Fused groups drop
// their store->load pairs in codegen. Without elimination these layers are copies on the NFU.
#include <algorithm>

#include "passes.h"

namespace fusesim::compiler {
namespace {

// The data node `d` finally lives in (following aliases).
int root_of(const Graph& g, int d) {
  while (g.tensor(d).alias_of >= 0) d = g.tensor(d).alias_of;
  return d;
}

// Whether a concat reads `d`. A channel slice feeding a concat stays a copy: written straight
// into its slice of the concat output, it is the one copy the data needs, whereas a view would
// leave the concat unable to disappear and copy every one of its inputs.
bool read_by_concat(const Graph& g, int d) {
  for (int c : g.tensor(d).consumers)
    if (g.layer(c).op == OpKind::Concat) return true;
  return false;
}

}  // namespace

int eliminate(Graph& g) {
  int removed = 0;
  for (int id : g.topo_order()) {
    LayerNode& l = g.layer(id);
    switch (l.op) {
      case OpKind::Identity:
      case OpKind::Dropout:
      case OpKind::Flatten:
      case OpKind::Reshape: {
        DataNode& out = g.tensor(l.output);
        out.alias_of = l.inputs[0];
        out.channel_offset = 0;
        l.removed = true;  // edges stay: topo_order walks through removed layers
        ++removed;
        break;
      }
      case OpKind::ChannelSlice: {
        if (l.attrs.slice_rows || read_by_concat(g, l.output)) break;  // rows of every channel: a copy
        // A view of a view (a slice of a concat slice or of another split) resolves through the
        // chain: offsets add up and every level is a contiguous channel range.
        DataNode& out = g.tensor(l.output);
        out.alias_of = l.inputs[0];
        out.channel_offset = l.attrs.slice_start;
        l.removed = true;
        ++removed;
        break;
      }
      case OpKind::Concat: {
        if (l.attrs.concat_rows) break;  // rows of every channel: strided copies, no alias
        // Every input must be produced by a layer (not the network input), be read once here,
        // not be a network output and not already live inside another tensor.
        bool ok = true;
        for (std::size_t k = 0; k < l.inputs.size() && ok; ++k) {
          const int in = l.inputs[k];
          const DataNode& d = g.tensor(in);
          ok = d.producer >= 0 && d.alias_of < 0 && !g.is_output(in) &&
               std::count(l.inputs.begin(), l.inputs.end(), in) == 1 && root_of(g, in) == in;
        }
        if (!ok) break;
        int64_t off = 0;
        for (int in : l.inputs) {
          DataNode& d = g.tensor(in);
          d.alias_of = l.output;
          d.channel_offset = off;
          off += d.shape.c;
        }
        l.removed = true;
        ++removed;
        break;
      }
      default:
        break;
    }
  }
  return removed;
}

}  // namespace fusesim::compiler
