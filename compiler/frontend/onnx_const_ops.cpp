// Constant folding of small ONNX ops, evaluated element by element over row-major indices.
#include "onnx_const_ops.h"

#include <algorithm>
#include <cmath>

#include "isa/errors.h"

namespace fusesim::compiler::constfold {

namespace {

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int k = static_cast<int>(dims.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * dims[k + 1];
  return s;
}

ConstTensor like(bool integer, std::vector<int64_t> dims) {
  ConstTensor r;
  r.integer = integer;
  r.dims = std::move(dims);
  if (integer)
    r.i.resize(static_cast<std::size_t>(dims_elems(r.dims)));
  else
    r.f.resize(static_cast<std::size_t>(dims_elems(r.dims)));
  return r;
}

void copy_elem(ConstTensor& dst, int64_t di, const ConstTensor& src, int64_t si) {
  if (dst.integer)
    dst.i[di] = src.i[si];
  else
    dst.f[di] = src.f[si];
}

// Calls f(out_index, multi_index) for every element of `dims` in row-major order.
template <typename F>
void for_each_index(const std::vector<int64_t>& dims, F f) {
  const int64_t n = dims_elems(dims);
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    f(k, idx);
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

int64_t norm_axis(int64_t axis, std::size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    throw InputError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

}  // namespace

ConstTensor make_ints(const std::vector<int64_t>& values, std::vector<int64_t> dims) {
  ConstTensor t;
  t.integer = true;
  t.dims = std::move(dims);
  t.i = values;
  return t;
}

ConstTensor binary(Binary op, const ConstTensor& a, const ConstTensor& b) {
  const std::size_t rank = std::max(a.dims.size(), b.dims.size());
  auto padded = [rank](const std::vector<int64_t>& d) {
    std::vector<int64_t> p(rank - d.size(), 1);
    p.insert(p.end(), d.begin(), d.end());
    return p;
  };
  const auto da = padded(a.dims), db = padded(b.dims);
  std::vector<int64_t> out(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    if (da[k] != db[k] && da[k] != 1 && db[k] != 1)
      throw InputError("shapes " + dims_str(a.dims) + " and " + dims_str(b.dims) + " do not broadcast");
    out[k] = da[k] == 1 ? db[k] : da[k];
  }
  const auto sa = strides_of(da), sb = strides_of(db);
  ConstTensor r = like(a.integer && b.integer, out);
  for_each_index(out, [&](int64_t k, const std::vector<int64_t>& idx) {
    int64_t ia = 0, ib = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      if (da[d] != 1) ia += idx[d] * sa[d];
      if (db[d] != 1) ib += idx[d] * sb[d];
    }
    if (r.integer) {
      const int64_t x = a.i[ia], y = b.i[ib];
      switch (op) {
        case Binary::Add:
          r.i[k] = x + y;
          break;
        case Binary::Sub:
          r.i[k] = x - y;
          break;
        case Binary::Mul:
          r.i[k] = x * y;
          break;
        case Binary::Div:
          if (y == 0) throw InputError("integer division by zero");
          r.i[k] = x / y;
          break;
      }
    } else {
      const double x = a.at(ia), y = b.at(ib);
      double v = 0;
      switch (op) {
        case Binary::Add:
          v = x + y;
          break;
        case Binary::Sub:
          v = x - y;
          break;
        case Binary::Mul:
          v = x * y;
          break;
        case Binary::Div:
          v = x / y;
          break;
      }
      r.f[k] = static_cast<float>(v);
    }
  });
  return r;
}

ConstTensor gather(const ConstTensor& data, const ConstTensor& indices, int64_t axis) {
  if (!indices.integer) throw InputError("Gather indices must be integers");
  if (data.dims.empty()) throw InputError("Gather of a scalar");
  axis = norm_axis(axis, data.dims.size());
  std::vector<int64_t> out(data.dims.begin(), data.dims.begin() + axis);
  out.insert(out.end(), indices.dims.begin(), indices.dims.end());
  out.insert(out.end(), data.dims.begin() + axis + 1, data.dims.end());
  const int64_t outer = dims_elems({data.dims.begin(), data.dims.begin() + axis});
  const int64_t inner = dims_elems({data.dims.begin() + axis + 1, data.dims.end()});
  const int64_t extent = data.dims[axis], nidx = indices.size();
  ConstTensor r = like(data.integer, out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < nidx; ++j) {
      int64_t ix = indices.i[j];
      if (ix < 0) ix += extent;
      if (ix < 0 || ix >= extent)
        throw InputError("Gather index " + std::to_string(indices.i[j]) + " out of range");
      for (int64_t in = 0; in < inner; ++in)
        copy_elem(r, (o * nidx + j) * inner + in, data, (o * extent + ix) * inner + in);
    }
  return r;
}

ConstTensor concat(const std::vector<const ConstTensor*>& parts, int64_t axis) {
  if (parts.empty()) throw InputError("Concat of nothing");
  const auto& d0 = parts[0]->dims;
  axis = norm_axis(axis, d0.size());
  std::vector<int64_t> out = d0;
  out[axis] = 0;
  bool integer = true;
  for (const auto* p : parts) {
    if (p->dims.size() != d0.size()) throw InputError("Concat of tensors of different ranks");
    for (std::size_t k = 0; k < d0.size(); ++k)
      if (static_cast<int64_t>(k) != axis && p->dims[k] != d0[k])
        throw InputError("Concat of mismatched shapes");
    out[axis] += p->dims[axis];
    integer = integer && p->integer;
  }
  ConstTensor r = like(integer, out);
  const int64_t outer = dims_elems({d0.begin(), d0.begin() + axis});
  const int64_t inner = dims_elems({d0.begin() + axis + 1, d0.end()});
  int64_t k = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const auto* p : parts) {
      const int64_t run = p->dims[axis] * inner;
      for (int64_t e = 0; e < run; ++e, ++k) {
        if (r.integer)
          r.i[k] = p->i[o * run + e];
        else
          r.f[k] = static_cast<float>(p->at(o * run + e));
      }
    }
  return r;
}

ConstTensor transpose(const ConstTensor& t, const std::vector<int64_t>& perm) {
  if (perm.size() != t.dims.size()) throw InputError("Transpose perm does not match the rank");
  std::vector<int64_t> out(perm.size());
  for (std::size_t k = 0; k < perm.size(); ++k) out[k] = t.dims.at(static_cast<std::size_t>(perm[k]));
  const auto s = strides_of(t.dims);
  ConstTensor r = like(t.integer, out);
  for_each_index(out, [&](int64_t k, const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (std::size_t d = 0; d < perm.size(); ++d) src += idx[d] * s[perm[d]];
    copy_elem(r, k, t, src);
  });
  return r;
}

SliceRange slice_range(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (step == 0) throw InputError("Slice step 0");
  SliceRange r;
  r.step = step;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    r.count = start > end ? (start - end - step - 1) / -step : 0;
  }
  r.start = start;
  return r;
}

ConstTensor slice(const ConstTensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                  const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) {
  std::vector<SliceRange> ranges(t.dims.size());
  for (std::size_t d = 0; d < t.dims.size(); ++d) ranges[d] = {0, 1, t.dims[d]};
  for (std::size_t k = 0; k < axes.size(); ++k) {
    const int64_t ax = norm_axis(axes[k], t.dims.size());
    ranges[ax] = slice_range(t.dims[ax], starts.at(k), ends.at(k), steps.at(k));
  }
  std::vector<int64_t> out(t.dims.size());
  for (std::size_t d = 0; d < out.size(); ++d) out[d] = ranges[d].count;
  const auto s = strides_of(t.dims);
  ConstTensor r = like(t.integer, out);
  for_each_index(out, [&](int64_t k, const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (std::size_t d = 0; d < out.size(); ++d) src += (ranges[d].start + idx[d] * ranges[d].step) * s[d];
    copy_elem(r, k, t, src);
  });
  return r;
}

ConstTensor cast(const ConstTensor& t, bool to_integer) {
  if (t.integer == to_integer) return t;
  ConstTensor r = like(to_integer, t.dims);
  for (int64_t k = 0; k < t.size(); ++k) {
    if (to_integer)
      r.i[k] = static_cast<int64_t>(std::trunc(t.f[k]));
    else
      r.f[k] = static_cast<float>(t.i[k]);
  }
  return r;
}

}  // namespace fusesim::compiler::constfold
