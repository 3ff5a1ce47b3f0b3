// The int8 multiply-add peak of one core with AVX-512 VNNI: independent chains of vpdpbusd on zmm
// registers (64 u8 x s8 products summed into 16 int32 lanes per instruction), timed for ~1 s.
// The bound that no int8 convolution kernel on this CPU can beat; bench/vnni_peak.sh runs one copy
// per core at once and prints the total.
//
//   g++ -O2 -mavx512f -mavx512bw -mavx512vnni bench/vnni_peak.cpp -o vnni_peak && ./vnni_peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
  constexpr int kChains = 12;  // more than the instruction's latency x throughput: the pipes stay full
  constexpr long kIterations = 200'000'000;
  constexpr double kMultiplyAddsPerInstruction = 64;
  __m512i accumulators[kChains];
  for (int i = 0; i < kChains; ++i) accumulators[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(1);
  const __m512i b = _mm512_set1_epi8(2);
  const auto start = std::chrono::steady_clock::now();
  for (long n = 0; n < kIterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) accumulators[i] = _mm512_dpbusd_epi32(accumulators[i], a, b);
    __asm__ volatile("" : "+v"(a));  // keeps the compiler from hoisting or folding the loop
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int checksum = 0;
  for (int i = 0; i < kChains; ++i) checksum += _mm512_reduce_add_epi32(accumulators[i]);
  const double multiply_adds = static_cast<double>(kIterations) * kChains * kMultiplyAddsPerInstruction;
  std::printf("%.1f GMAC/s on one core (checksum %d)\n", multiply_adds / seconds / 1e9, checksum);
  return 0;
}
