// The workbench page (tools/workbench/web/*) and its chart library (npm chart.js, served as
// vendor/chart.umd.js), compiled into the binary by embed_assets.cmake so that `octet workbench`
// needs no files besides itself. `octet workbench --web-dir DIR` serves the page from disk instead
// (while developing it); chart.js always comes from here.
#pragma once

#include <string_view>
#include <vector>

namespace octet::workbench {

struct EmbeddedAsset {
  std::string_view path;     // relative to web/, '/'-separated: "index.html", "vendor/chart.umd.js"
  std::string_view content;  // the file's bytes; static storage
};

// Every embedded file, web/ files sorted by path, then vendor/chart.umd.js.
const std::vector<EmbeddedAsset>& embedded_assets();

}  // namespace octet::workbench
