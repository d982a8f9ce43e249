// Input-file resolution of the readers: see input_files.h.
#include "stages/ingest/input_files.h"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "graph/status.h"

namespace resact {
namespace ingest {
namespace {

namespace fs = std::filesystem;

bool HasGlobChars(const std::string& path) {
  return path.find_first_of("*?[") != std::string::npos;
}

// The entries of folder `dir` (names), sorted.
absl::StatusOr<std::vector<fs::directory_entry>> ListFolder(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("path '", dir, "': cannot list the folder: ", ec.message()));
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    entries.push_back(*it);
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("path '", dir, "': cannot list the folder: ", ec.message()));
  }
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) {
              return a.path().filename() < b.path().filename();
            });
  return entries;
}

bool MatchesAny(const std::string& name, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return true;
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

// Appends the files of folder `dir` to `files` following the rule of
// ResolveInputFiles, and the entries not taken to `skipped`. Returns how
// many were added.
absl::StatusOr<size_t> ExpandFolder(const std::string& dir,
                                    const std::vector<std::string>& folder_names,
                                    const std::vector<std::string>& folder_patterns,
                                    std::vector<std::string>* files,
                                    std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!folder_names.empty()) {
    for (const std::string& name : folder_names) {
      fs::path p = fs::path(dir) / name;
      if (fs::is_regular_file(p, ec)) {
        files->push_back(p.string());
        if (skipped != nullptr) {
          absl::StatusOr<std::vector<fs::directory_entry>> entries = ListFolder(dir);
          if (entries.ok()) {
            for (const fs::directory_entry& e : *entries) {
              if (e.path().filename() != name) skipped->push_back(e.path().string());
            }
          }
        }
        return 1;
      }
    }
    return 0;
  }
  ASSIGN_OR_RETURN(std::vector<fs::directory_entry> entries, ListFolder(dir));
  size_t added = 0;
  for (const fs::directory_entry& e : entries) {
    const std::string name = e.path().filename().string();
    std::error_code type_ec;
    if (!name.empty() && name[0] != '.' && e.is_regular_file(type_ec) &&
        MatchesAny(name, folder_patterns)) {
      files->push_back(e.path().string());
      ++added;
    } else if (skipped != nullptr) {
      skipped->push_back(e.path().string());
    }
  }
  return added;
}

std::string FolderRuleText(const std::vector<std::string>& folder_names,
                           const std::vector<std::string>& folder_patterns) {
  if (!folder_names.empty()) return absl::StrCat("none of ", absl::StrJoin(folder_names, ", "));
  if (folder_patterns.empty()) return "no regular files";
  return absl::StrCat("no regular file matching ", absl::StrJoin(folder_patterns, ", "),
                      " (hidden files are skipped; see folder_pattern)");
}

// InvalidArgument when two of `files` are the same file.
absl::Status CheckDistinctFiles(const std::string& path, const std::vector<std::string>& files) {
  struct Id {
    dev_t dev;
    ino_t ino;
    bool operator<(const Id& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  };
  std::map<Id, size_t> seen;
  for (size_t i = 0; i < files.size(); ++i) {
    struct stat st;
    if (::stat(files[i].c_str(), &st) != 0) continue;  // Reading will name the problem.
    auto [it, inserted] = seen.emplace(Id{st.st_dev, st.st_ino}, i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "path '", path, "': '", files[it->second], "' and '", files[i],
          "' are the same file (device ", st.st_dev, ", inode ", st.st_ino,
          "); a file read twice doubles its rows: list each file once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& DefaultFolderPatterns() {
  static const std::vector<std::string>* const kPatterns =
      new std::vector<std::string>{"*.csv", "*.tsv", "*.log", "*.dat"};
  return *kPatterns;
}

absl::StatusOr<std::vector<std::string>> ResolveInputFiles(
    const std::string& path, const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns, std::vector<std::string>* skipped) {
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  std::vector<std::string> files;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!ec && fs::exists(st)) {
    if (fs::is_directory(st)) {
      ASSIGN_OR_RETURN(size_t n,
                       ExpandFolder(path, folder_names, folder_patterns, &files, skipped));
      if (n == 0) {
        return absl::NotFoundError(absl::StrCat(
            "path '", path, "': the folder has ", FolderRuleText(folder_names, folder_patterns)));
      }
      RETURN_IF_ERROR(CheckDistinctFiles(path, files));
      return files;
    }
    files.push_back(path);  // A file (or a device or pipe: let reading decide).
    return files;
  }
  if (!HasGlobChars(path)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(absl::StrCat("path '", path, "': ", ec.message()));
    }
    return absl::NotFoundError(absl::StrCat("path '", path, "': no such file or folder"));
  }
  glob_t g;
  const int rc = glob(path.c_str(), 0, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    return absl::NotFoundError(absl::StrCat("path '", path, "': no file matches the pattern"));
  }
  if (rc != 0) {
    globfree(&g);
    return absl::NotFoundError(absl::StrCat("path '", path, "': cannot expand the pattern (",
                                            rc == GLOB_ABORTED ? "read error" : "out of memory",
                                            ")"));
  }
  std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
  globfree(&g);
  std::sort(matches.begin(), matches.end());
  for (const std::string& m : matches) {
    std::error_code mec;
    fs::file_status mst = fs::status(m, mec);
    if (mec) continue;  // E.g. a dangling symlink.
    if (fs::is_directory(mst)) {
      ASSIGN_OR_RETURN(size_t n, ExpandFolder(m, folder_names, folder_patterns, &files, skipped));
      (void)n;
    } else if (fs::is_regular_file(mst)) {
      files.push_back(m);
    }
  }
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("path '", path,
                                            "': the pattern matches no readable file (matched ",
                                            matches.size(), " entries)"));
  }
  RETURN_IF_ERROR(CheckDistinctFiles(path, files));
  return files;
}

absl::StatusOr<std::vector<std::string>> ResolveAndLogInputFiles(
    const StageContext& ctx, absl::string_view reader, const std::string& path,
    const std::vector<std::string>& folder_names,
    const std::vector<std::string>& folder_patterns) {
  std::vector<std::string> skipped;
  ASSIGN_OR_RETURN(std::vector<std::string> files,
                   ResolveInputFiles(path, folder_names, folder_patterns, &skipped));
  if (!skipped.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < std::min<size_t>(skipped.size(), 5); ++i) {
      names.push_back(fs::path(skipped[i]).filename().string());
    }
    LOG(INFO) << "[" << ctx.stage_name() << "] " << reader << ": skipped " << skipped.size()
              << (skipped.size() == 1 ? " entry" : " entries") << " of the folder ("
              << absl::StrJoin(names, ", ") << (skipped.size() > 5 ? ", ..." : "") << "): "
              << (folder_names.empty()
                      ? (folder_patterns.empty()
                             ? std::string("hidden or not a regular file")
                             : absl::StrCat("hidden, not a regular file, or matching none of ",
                                            absl::StrJoin(folder_patterns, " ")))
                      : absl::StrCat("only the first of ", absl::StrJoin(folder_names, ", "),
                                     " is read"));
  }
  ctx.RecordSource(InputFilesFingerprint(files), DescribeInputFiles(files));
  LOG(INFO) << "[" << ctx.stage_name() << "] " << reader << ": " << files.size()
            << (files.size() == 1 ? " file: " : " files: ")
            << absl::StrJoin(files.begin(), files.begin() + std::min<size_t>(files.size(), 5), ", ")
            << (files.size() > 5 ? ", ..." : "");
  return files;
}

std::string InputFilesFingerprint(const std::vector<std::string>& files) {
  std::string text;
  for (const std::string& f : files) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(f, ec);
    const uintmax_t size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec);
    absl::StrAppend(&text, ec ? f : canonical.string(), "\t", ec ? 0 : size, "\t",
                    ec ? 0 : mtime.time_since_epoch().count(), "\n");
  }
  return text;
}

std::string DescribeInputFiles(const std::vector<std::string>& files) {
  const double mb = static_cast<double>(TotalFileBytes(files)) / 1e6;
  std::string first = files.empty() ? "" : files.front();
  return absl::StrFormat("%d file%s, %.1f MB (%s%s)", files.size(), files.size() == 1 ? "" : "s",
                         mb, first, files.size() > 1 ? ", ..." : "");
}

uint64_t TotalFileBytes(const std::vector<std::string>& files) {
  uint64_t total = 0;
  for (const std::string& f : files) {
    std::error_code ec;
    uintmax_t n = fs::file_size(f, ec);
    if (!ec) total += n;
  }
  return total;
}

std::vector<std::string> FolderPatternsOrDefault(std::vector<std::string> patterns) {
  if (patterns.empty()) return DefaultFolderPatterns();
  return patterns;
}

}  // namespace ingest
}  // namespace resact
