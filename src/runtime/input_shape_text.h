// Input shapes written as text, as users give them: "1x3x224x224" and "NAME=1x3x224x224"
// (`octet bench --shape`, `octet inspect --shape`, the workbench's benchmark and inspect requests).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "octet/tensor.h"

namespace octet {

// Parses "1x3x224x224": dimensions >= 0 separated by 'x'. `what` names the option or field in
// errors ("--shape 'x=1x3'"). Throws Error for bad syntax or an element count that overflows.
Shape parse_dims(const std::string& text, const std::string& what);

// Parses "NAME=DIMS" entries into a map. `option` names the option or field in errors
// ("--shape"). Throws Error naming it and the entry for bad syntax or a name given twice.
std::map<std::string, Shape> parse_shape_assignments(const std::vector<std::string>& values,
                                                     const std::string& option);

}  // namespace octet
