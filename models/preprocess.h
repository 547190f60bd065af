// Image preprocessing as torchvision's eval transforms do it on a PIL image (docs/definitions.md §3), with Pillow's
// 8-bit resampling reproduced exactly (separable passes, antialiased support when downsampling, 22-bit
// fixed-point coefficients, 8-bit rounding between the passes).
//   crop      resize shorter side to n (bilinear), centre crop n x n   (default)
//   vim-eval  resize shorter side to int(n / 0.875) (bicubic), centre crop n x n
//   squash    resize to n x n (bilinear)
// then /255 and ImageNet mean/std normalisation.
#pragma once
#include <string>

#include "models/io/image.h"
#include "tensor/tensor.h"

namespace ha {

enum class Preprocess { Crop, VimEval, Squash };
enum class ResampleFilter { Bilinear, Bicubic };

Preprocess parse_preprocess(const std::string& name);  // "crop" | "vim-eval" | "squash"
const char* preprocess_name(Preprocess p);

Image8 resize_like_pil(const Image8& img, int64_t width, int64_t height, ResampleFilter filter);
Image8 resize_shorter_side(const Image8& img, int64_t shorter, ResampleFilter filter);  // torchvision Resize(int)
Image8 center_crop(const Image8& img, int64_t size);                                    // torchvision CenterCrop

Image8 preprocess_image(const Image8& img, int64_t n, Preprocess mode);  // the n x n 8-bit image the model sees
// Pillow's NEAREST resize of a one-byte-per-pixel (w x h, row-major) plane, as Chefer's protocol resizes
// segmentation masks: output column x reads source column trunc(s/2 + x s) with s = w / out_w accumulated in
// double precision step by step (Pillow's ImagingScaleAffine), likewise for rows.
std::vector<uint8_t> resize_nearest_like_pil(const std::vector<uint8_t>& plane, int64_t w, int64_t h, int64_t out_w,
                                             int64_t out_h);
Tensor normalize_image(const Image8& img);                              // (1, 3, H, W) float32, ImageNet mean/std
// imagenet: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) (Vim, DeiT); half: mean 0.5, std 0.5 (Google's ViT)
enum class Normalization { ImageNet, Half };
Normalization parse_normalization(const std::string& name);  // imagenet | half
struct ChannelStats {
  float mean[3], std[3];
};
const ChannelStats& channel_stats(Normalization n);  // the mean and std per RGB channel
Tensor normalize_image(const Image8& img, Normalization n);

}  // namespace ha
