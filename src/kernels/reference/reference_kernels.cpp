#include "kernels/reference/reference_kernels.h"

namespace octet {

void register_reference_kernels(KernelRegistry& registry) {
  register_elementwise_kernels(registry);
  register_conv_kernels(registry);
  register_linear_kernels(registry);
  register_pool_kernels(registry);
  register_normalization_kernels(registry);
  register_resize_kernels(registry);
  register_tensor_kernels(registry);
  register_reduce_kernels(registry);
  register_quantize_kernels(registry);
  register_fused_kernels(registry);
  register_quantized_fused_kernels(registry);
  register_quantized_deconv_kernel(registry);
  register_quantized_binary_kernel(registry);
  register_quantized_pool_kernel(registry);
}

}  // namespace octet
