// Reference kernels: one obviously-correct implementation of every supported op. They are the
// test oracle for optimized kernels and the last candidate in every op's list.
//
// Each group lives in its own file and registers its ops with one function.
#pragma once

#include <memory>
#include <string>

#include "kernels/kernel_registry.h"

namespace octet {

void register_reference_kernels(KernelRegistry& registry);

void register_elementwise_kernels(KernelRegistry& registry);  // elementwise.cpp: math, activations, logic, Cast
void register_conv_kernels(KernelRegistry& registry);         // conv.cpp: Conv, ConvTranspose
void register_linear_kernels(KernelRegistry& registry);       // linear.cpp: MatMul, Gemm, MatMulInteger...
void register_pool_kernels(KernelRegistry& registry);         // pool.cpp: MaxPool, AveragePool, Global*Pool
void register_normalization_kernels(KernelRegistry& registry);  // normalization.cpp: BatchNorm, LayerNorm...
void register_resize_kernels(KernelRegistry& registry);       // resize.cpp: Resize, Upsample
void register_tensor_kernels(KernelRegistry& registry);       // tensor.cpp: shape and data movement ops
void register_reduce_kernels(KernelRegistry& registry);       // reduce.cpp: Reduce*, Softmax, ArgMax, TopK...
void register_quantize_kernels(KernelRegistry& registry);     // quantize.cpp: QuantizeLinear, DequantizeLinear...
void register_fused_kernels(KernelRegistry& registry);        // fused.cpp: octet.FusedConv/FusedMatMul/FusedGemm
void register_quantized_fused_kernels(KernelRegistry& registry);  // qfused.cpp: octet.QFusedConv/QFusedMatMul
void register_quantized_deconv_kernel(KernelRegistry& registry);  // qdeconv.cpp: octet.QFusedConvTranspose
void register_quantized_binary_kernel(KernelRegistry& registry);  // qbinary.cpp: octet.QBinary
void register_quantized_pool_kernel(KernelRegistry& registry);    // qpool.cpp: octet.QPool

// Registers kernel class K, constructed as K(const KernelCreateInfo&), as the reference
// implementation of `op_type` in the default domain.
template <typename K>
void register_reference(KernelRegistry& registry, const std::string& op_type) {
  registry.add("", op_type, "reference",
               [](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
                 return std::make_unique<K>(info);
               });
}

}  // namespace octet
