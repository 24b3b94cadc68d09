// The host's plain int16 MAC rate, the yardstick for fusesim's functional kernels: a GEMM of
// int16 dot products with int32 accumulation, written as plain loops and compiled with the flags
// of a Release build (-O3, no -march), so that the compiler vectorizes it as it does the NFU's.
// scripts/bench.sh builds and runs it; it prints "gemm_macs_per_s <rate>" and, on a CPU with
// AVX2, "gemm_avx2_macs_per_s <rate>" (the same loops built for AVX2).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

// C[m][n] += A[m][:] . B[n][:] over k, one output channel at a time.
template <int>
inline void gemm_loops(const int16_t* a, const int16_t* b, int32_t* c, size_t m, size_t n, size_t k) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      int32_t sum = 0;
      for (size_t p = 0; p < k; ++p) sum += int32_t{a[i * k + p]} * int32_t{b[j * k + p]};
      c[i * n + j] += sum;
    }
}
// The same loops at the build's own flags ("plain"), and built for AVX2 as the NFU's int16 GEMM
// also is (hw/nfu_kernels.cpp clones it; the CPU's features choose at load).
__attribute__((noinline)) void gemm_plain(const int16_t* a, const int16_t* b, int32_t* c, size_t m, size_t n, size_t k) {
  gemm_loops<0>(a, b, c, m, n, k);
}
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HAVE_AVX2_CLONE 1
__attribute__((noinline, target("avx2"))) void gemm_avx2(const int16_t* a, const int16_t* b, int32_t* c, size_t m, size_t n,
                                                        size_t k) {
  gemm_loops<1>(a, b, c, m, n, k);
}
#endif

}  // namespace

int main() {
  // Tile-sized operands (they stay in L1/L2, as a COMPUTE's do): 64 positions x 64 channels x 256.
  const size_t m = 64, n = 64, k = 256;
  std::vector<int16_t> a(m * k), b(n * k);
  std::vector<int32_t> c(m * n, 0);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int16_t>(i * 7 % 251 - 125);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int16_t>(i * 13 % 241 - 120);
  auto rate_of = [&](auto gemm) {
    double best = 0;
    for (int trial = 0; trial < 30; ++trial) {  // the best of 30: a shared host slows some trials 2x
      const int reps = 200;
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) gemm(a.data(), b.data(), c.data(), m, n, k);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double rate = static_cast<double>(m * n * k) * reps / s;
      if (rate > best) best = rate;
    }
    return best;
  };
  std::printf("gemm_macs_per_s %.4g\n", rate_of(gemm_plain));
#ifdef HAVE_AVX2_CLONE
  if (__builtin_cpu_supports("avx2")) std::printf("gemm_avx2_macs_per_s %.4g\n", rate_of(gemm_avx2));
#endif
  int64_t check = 0;
  for (int32_t v : c) check += v;
  std::printf("checksum %lld\n", static_cast<long long>(check));
  return 0;
}
