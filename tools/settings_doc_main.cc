// Prints the settings table of docs/CONFIGURATION.md, generated from the one
// table in config/settings.cc:
//   bazel run //tools:settings_doc
// //tests/config:settings_test fails until the docs hold this output.
#include <cstdio>

#include "config/settings.h"

int main() {
  std::fputs(cachemesh::SettingsMarkdownTable().c_str(), stdout);
  return 0;
}
