#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"

namespace octet {

void register_dnnl_kernels(KernelRegistry& registry) {
  using namespace dnnl_backend;
  const std::pair<const char*, KernelFactory> onnx_ops[] = {
      {"Conv", create_conv_kernel},
      {"ConvTranspose", create_deconv_kernel},
      {"MatMul", create_matmul_kernel},
      {"Gemm", create_matmul_kernel},
      {"MaxPool", create_pool_kernel},
      {"AveragePool", create_pool_kernel},
      {"GlobalAveragePool", create_pool_kernel},
      {"GlobalMaxPool", create_pool_kernel},
      {"Relu", create_activation_kernel},
      {"LeakyRelu", create_activation_kernel},
      {"Sigmoid", create_activation_kernel},
      {"Tanh", create_activation_kernel},
      {"HardSigmoid", create_activation_kernel},
      {"HardSwish", create_activation_kernel},
      {"Clip", create_activation_kernel},
      {"Add", create_binary_kernel},
      {"Sub", create_binary_kernel},
      {"Mul", create_binary_kernel},
      {"Div", create_binary_kernel},
      {"Concat", create_concat_kernel},
      {"Resize", create_resize_kernel},
      {"Upsample", create_resize_kernel},
      {"Softmax", create_softmax_kernel},
      {"LogSoftmax", create_softmax_kernel},
      {"LayerNormalization", create_layer_norm_kernel},
      {"QuantizeLinear", create_quantize_kernel},
      {"DequantizeLinear", create_quantize_kernel},
  };
  for (const auto& [op_type, factory] : onnx_ops) registry.add_preferred("", op_type, "dnnl", factory);
  registry.add_preferred(kOctetDomain, "FusedConv", "dnnl", create_conv_kernel);
  registry.add_preferred(kOctetDomain, "FusedConvTranspose", "dnnl", create_deconv_kernel);
  registry.add_preferred(kOctetDomain, "FusedMatMul", "dnnl", create_matmul_kernel);
  registry.add_preferred(kOctetDomain, "FusedGemm", "dnnl", create_matmul_kernel);
  registry.add_preferred(kOctetDomain, "Swish", "dnnl", create_activation_kernel);
  registry.add_preferred(kOctetDomain, kQuantizedFusedConv, "dnnl", create_quantized_conv_kernel);
  registry.add_preferred(kOctetDomain, kQuantizedFusedMatMul, "dnnl", create_quantized_matmul_kernel);
  registry.add_preferred(kOctetDomain, kQuantizedFusedConvTranspose, "dnnl", create_quantized_deconv_kernel);
  registry.add_preferred(kOctetDomain, kQuantizedBinary, "dnnl", create_quantized_binary_kernel);
  registry.add_preferred(kOctetDomain, kQuantizedPool, "dnnl", create_quantized_pool_kernel);
}

void register_dnnl_threads(int threads) { dnnl_backend::set_thread_count(threads); }

}  // namespace octet
