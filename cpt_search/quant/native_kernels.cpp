// Fused fake-quantization passes for float32 CPU tensors (docs/method.md §3), loaded by native.py.
//
// The eager chain (subtract, scale, round, clamp, rescale, shift) walks a tensor five to seven times;
// each function here walks it once, reading x (and the noise) and writing the result. The range
// (min, max) still comes from torch's amin/amax, so NaN propagates exactly as in the eager path.
//
// Arithmetic is the eager kernels' to the bit: every constant is rounded to float first, as ATen
// does with a Python scalar, and the build passes -ffp-contract=off so q * scale + lo is never fused
// into an FMA (which rounds once instead of twice).
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <cmath>

namespace {

constexpr int64_t kGrain = 32768;  // ATen's internal::GRAIN_SIZE: below this, one thread

void check_dense_float(const at::Tensor& x, const char* what) {
  TORCH_CHECK(x.device().is_cpu(), what, " must be a CPU tensor");
  TORCH_CHECK(x.scalar_type() == at::kFloat, what, " must be float32");
  TORCH_CHECK(x.is_non_overlapping_and_dense(), what, " must be dense (contiguous or channels-last)");
}

// A result laid out like x: for a dense x, element i of x's storage maps to element i of out's.
at::Tensor empty_like_dense(const at::Tensor& x) {
  return at::empty_strided(x.sizes(), x.strides(), x.options());
}

}  // namespace

// round((x - lo) * inv) * scale + lo, clamped to levels [0, top] when clamp is set.
at::Tensor quantize_affine(const at::Tensor& x, double lo, double inv, double scale, double top, bool clamp) {
  check_dense_float(x, "x");
  auto out = empty_like_dense(x);
  const float* src = x.const_data_ptr<float>();
  float* dst = out.mutable_data_ptr<float>();
  const float flo = static_cast<float>(lo), finv = static_cast<float>(inv);
  const float fscale = static_cast<float>(scale), ftop = static_cast<float>(top);
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    if (clamp) {
      for (int64_t i = begin; i < end; ++i) {
        float q = std::rint((src[i] - flo) * finv);
        q = q < 0.0f ? 0.0f : q;  // comparisons, not fmin/fmax: NaN stays NaN, as torch.clamp
        q = q > ftop ? ftop : q;
        dst[i] = q * fscale + flo;
      }
    } else {
      for (int64_t i = begin; i < end; ++i) {
        dst[i] = std::rint((src[i] - flo) * finv) * fscale + flo;
      }
    }
  });
  return out;
}

// Stochastic rounding: clamp(round((x - lo) * inv + noise), 0, top) * scale + lo, noise read in
// storage order from a dense 1-D window of U(-0.5, 0.5) values with at least x.numel() entries.
at::Tensor quantize_affine_noisy(
    const at::Tensor& x, const at::Tensor& noise, double lo, double inv, double scale, double top) {
  check_dense_float(x, "x");
  check_dense_float(noise, "noise");
  TORCH_CHECK(noise.numel() >= x.numel(), "noise has fewer entries than x");
  auto out = empty_like_dense(x);
  const float* src = x.const_data_ptr<float>();
  const float* rnd = noise.const_data_ptr<float>();
  float* dst = out.mutable_data_ptr<float>();
  const float flo = static_cast<float>(lo), finv = static_cast<float>(inv);
  const float fscale = static_cast<float>(scale), ftop = static_cast<float>(top);
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float q = std::rint((src[i] - flo) * finv + rnd[i]);
      q = q < 0.0f ? 0.0f : q;
      q = q > ftop ? ftop : q;
      dst[i] = q * fscale + flo;
    }
  });
  return out;
}
