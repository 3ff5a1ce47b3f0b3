// `octet workbench`: a local HTTP server for the web workbench (SPEC.md; the JSON API is
// tools/workbench/API.md). A thin layer over the library: inspect, benchmark, accuracy and
// quantize call the same functions as the CLI commands (see jobs.h, inspection.h).
//
// Security: binds to 127.0.0.1 unless told otherwise; every request (page, assets, API) needs the
// random access token printed at start (query ?token=, then an HttpOnly cookie; or an
// "Authorization: Bearer" header); uploads are capped and type-checked (uploads.h); the server
// writes only under the workspace and reads only there and in the paths a user named (paths.h).
#pragma once

#include <ostream>
#include <string>

namespace octet::workbench {

struct WorkbenchOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (the URL printed names the real one)
  std::string workspace = "octet-workspace";
  // Serve the page from this folder instead of the copy embedded at build time (while developing
  // it). chart.js is always the embedded copy.
  std::string web_dir;
};

// Opens the workspace (database, folders), fails the jobs a previous run left unfinished, binds,
// prints "octet workbench: open http://HOST:PORT/?token=TOKEN" on `out` (flushed), and serves until
// SIGINT or SIGTERM (a second one exits at once). The running job, if any, is stopped and marked
// failed ("server stopped"). Throws Error for an unusable workspace or a port it cannot bind.
void run_workbench(const WorkbenchOptions& options, std::ostream& out);

}  // namespace octet::workbench
