// Temporary minimal CLI: `octet verify DIR...` only. The full CLI replaces this file.
#include <filesystem>
#include <iostream>

#include "runtime/test_case.h"

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "verify") {
    std::cerr << "usage: octet verify DIR...\n";
    return 1;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (int i = 2; i < argc; ++i) {
    auto result = octet::run_test_case(argv[i]);
    const char* label = result.status == octet::TestCaseStatus::kPassed   ? "PASS"
                        : result.status == octet::TestCaseStatus::kFailed ? "FAIL"
                                                                          : "SKIP";
    (result.status == octet::TestCaseStatus::kPassed ? passed
     : result.status == octet::TestCaseStatus::kFailed ? failed : skipped)++;
    std::cout << label << " " << std::filesystem::path(argv[i]).filename().string()
              << (result.message.empty() ? "" : ": " + result.message) << "\n";
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed ? 1 : 0;
}
