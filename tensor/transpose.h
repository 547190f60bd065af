// Out-of-place transpose of a block: out[r * ldo + c] = in[c * ldi + r] for r < R, c < C. Used by copy_
// (views whose last two dims are swapped in memory) and by the GEMM's packing of transposed operands.
// Float blocks go through 16 × 16 in-register transposes on AVX-512 (48 shuffles per 256 elements instead
// of a strided load and store each); the rest, and other types, element by element in 16 × 16 tiles.
// (The all-ones-mask intrinsics avoid GCC's warning about the unmasked forms' undefined source.)
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ha {

#if defined(__AVX512F__)
// out rows j = 0..15 (stride ldo) from in rows i = 0..15 (stride ldi): out[j][i] = in[i][j]
inline void transpose16x16(const float* in, int64_t ldi, float* out, int64_t ldo) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * ldi);
  for (int i = 0; i < 16; i += 2) {  // 32-bit interleave of row pairs, within 128-bit lanes
    t[i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // 64-bit interleave: r[i + m] lane k = column 4k + m of rows i..i+3
    r[i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, _mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, _mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, _mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, _mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int m = 0; m < 4; ++m) {  // gather the 128-bit lanes: column 4k + m = lane k of r[m], r[4+m], r[8+m], r[12+m]
    const __m512 v = _mm512_maskz_shuffle_f32x4(0xFFFF, r[m], r[4 + m], 0x88), w = _mm512_maskz_shuffle_f32x4(0xFFFF, r[m], r[4 + m], 0xDD);
    const __m512 x = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 + m], r[12 + m], 0x88), y = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 + m], r[12 + m], 0xDD);
    _mm512_storeu_ps(out + (m)*ldo, _mm512_maskz_shuffle_f32x4(0xFFFF, v, x, 0x88));
    _mm512_storeu_ps(out + (4 + m) * ldo, _mm512_maskz_shuffle_f32x4(0xFFFF, w, y, 0x88));
    _mm512_storeu_ps(out + (8 + m) * ldo, _mm512_maskz_shuffle_f32x4(0xFFFF, v, x, 0xDD));
    _mm512_storeu_ps(out + (12 + m) * ldo, _mm512_maskz_shuffle_f32x4(0xFFFF, w, y, 0xDD));
  }
}
#endif

template <class T>
void transpose_block(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t R, int64_t C) {
  constexpr int64_t kTile = 16;
  for (int64_t r0 = 0; r0 < R; r0 += kTile)
    for (int64_t c0 = 0; c0 < C; c0 += kTile) {
      const int64_t r1 = std::min(R, r0 + kTile), c1 = std::min(C, c0 + kTile);
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) {
        if (r1 - r0 == kTile && c1 - c0 == kTile) {
          transpose16x16(in + c0 * ldi + r0, ldi, out + r0 * ldo + c0, ldo);
          continue;
        }
      }
#endif
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) out[r * ldo + c] = in[c * ldi + r];
    }
}

}  // namespace ha
