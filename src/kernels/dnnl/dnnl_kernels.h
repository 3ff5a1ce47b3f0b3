// oneDNN-backed kernels, registered ahead of the reference kernels.
#pragma once

#include <memory>
#include <string>

#include "kernels/kernel_registry.h"

namespace octet {

// Adds every oneDNN kernel as the preferred candidate of its op.
void register_dnnl_kernels(KernelRegistry& registry);
// Sets oneDNN's thread count for the calling thread.
void register_dnnl_threads(int threads);

namespace dnnl_backend {
std::unique_ptr<Kernel> create_conv_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_pool_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_activation_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_binary_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_concat_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_resize_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_matmul_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_softmax_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_layer_norm_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_deconv_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantized_conv_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantized_matmul_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantized_deconv_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantize_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantized_binary_kernel(const KernelCreateInfo& info, std::string& reason);
std::unique_ptr<Kernel> create_quantized_pool_kernel(const KernelCreateInfo& info, std::string& reason);
}  // namespace dnnl_backend

}  // namespace octet
