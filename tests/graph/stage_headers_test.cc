// Every stage's file begins with its paragraph and an `// Example:` block:
// for each stage type registered under stages/ (RESACT_REGISTER_STAGE in
// stages/**/*.cc, and every type in this binary's registry), the .cc of its
// file pair starts with a comment paragraph and has an `// Example:` line
// before its first #include or code line.
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "graph/registry.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadWholeFile;

// Stage type → the .cc that registers it, for every RESACT_REGISTER_STAGE
// line under `root`.
std::map<std::string, fs::path> Registrations(const fs::path& root) {
  const std::regex macro(R"(^RESACT_REGISTER_STAGE\((\w+)\);)");
  std::map<std::string, fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".cc") continue;
    std::istringstream lines(ReadWholeFile(entry.path().string()));
    std::smatch m;
    for (std::string line; std::getline(lines, line);) {
      if (std::regex_search(line, m, macro)) out[m[1]] = entry.path();
    }
  }
  return out;
}

// Empty when `text` begins with a comment paragraph and has an `// Example:`
// line before its first #include or code line; else what is missing.
std::string HeaderProblem(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  int paragraph = 0;
  bool example = false;
  bool first = true;
  while (std::getline(lines, line)) {
    const bool comment = line.rfind("//", 0) == 0;
    if (first && !comment) return "does not begin with a comment paragraph";
    first = false;
    if (!comment) break;
    if (line.rfind("// Example:", 0) == 0) {
      example = true;
      break;
    }
    if (line.find_first_not_of("/ ") != std::string::npos) ++paragraph;
  }
  if (paragraph == 0) return "has no paragraph before `// Example:`";
  if (!example) return "has no `// Example:` line before its first #include or code line";
  return "";
}

TEST(StageHeaders, EveryStageFileBeginsWithItsParagraphAndAnExample) {
  const fs::path source = RESACT_SOURCE_DIR;
  const std::map<std::string, fs::path> stages = Registrations(source / "stages");
  ASSERT_GE(stages.size(), 10u);
  // Every stage this binary has is found (test-only stages live in tests/).
  const std::map<std::string, fs::path> test_stages = Registrations(source / "tests");
  for (const StageRegistration* reg : StageRegistry::Global().List()) {
    EXPECT_TRUE(stages.count(reg->type) || test_stages.count(reg->type))
        << "no RESACT_REGISTER_STAGE(" << reg->type << ") under stages/";
  }
  for (const auto& [type, cc] : stages) {
    // The pair: NAME.cc with NAME.h beside it, or the .cc alone.
    fs::path header = cc;
    header.replace_extension(".h");
    const std::string problem = HeaderProblem(ReadWholeFile(cc.string()));
    EXPECT_EQ(problem, "") << type << ": " << fs::relative(cc, source).string() << " " << problem
                           << (fs::exists(header) ? " (the paragraph belongs in the .cc, not in "
                                                    "the .h: the same for every stage)"
                                                  : "");
  }
}

TEST(StageHeaders, TheCheckReadsTheLeadingComment) {
  EXPECT_EQ(HeaderProblem("// X: does y.\n//\n// Example:\n//   stage {}\n#include \"a.h\"\n"), "");
  EXPECT_EQ(HeaderProblem("#include \"a.h\"\n// X: does y.\n// Example:\n"),
            "does not begin with a comment paragraph");
  EXPECT_EQ(HeaderProblem("// Example:\n//   stage {}\n"), "has no paragraph before `// Example:`");
  EXPECT_EQ(HeaderProblem("// X: does y.\n#include \"a.h\"\n// Example:\n"),
            "has no `// Example:` line before its first #include or code line");
  EXPECT_EQ(HeaderProblem("// X: does y.\n// Example (of z):\n#include \"a.h\"\n"),
            "has no `// Example:` line before its first #include or code line");
}

}  // namespace
}  // namespace resact
