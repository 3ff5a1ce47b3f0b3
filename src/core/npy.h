// NumPy .npy files (format versions 1-3, C order, little-endian) <-> tensors.
#pragma once

#include <string>

#include "octet/tensor.h"

namespace octet {

// Reads a .npy file. Throws Error naming the file for a missing file, a bad header, Fortran order,
// big-endian or unsupported dtypes, or data shorter than the header promises.
Tensor load_npy(const std::string& path);
// Writes a .npy (version 1.0) atomically: temporary file, then rename.
void save_npy(const Tensor& tensor, const std::string& path);

}  // namespace octet
