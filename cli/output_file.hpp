// An -o file of a sweep, written under a temporary name beside it and renamed into place when the
// sweep ends: until then a reader (node_exporter's textfile collector, a dashboard) keeps seeing
// the previous sweep's file whole, never an empty or half-written one.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace urlprobe::cli {

class ReplacedFile {
 public:
  // Opens ".NAME.tmp.PID" in the folder of PATH (of the file a symbolic link PATH points to);
  // the new file gets the mode of the one it replaces. A PATH that is no regular file (/dev/null,
  // /dev/stdout, a FIFO) is written in place, as is one whose folder takes no new file.
  // file() is null when nothing could be opened, with the reason in error().
  explicit ReplacedFile(const std::string& path);
  ~ReplacedFile();  // a temporary file not yet renamed into place is removed
  ReplacedFile(const ReplacedFile&) = delete;
  ReplacedFile& operator=(const ReplacedFile&) = delete;

  std::FILE* file() const { return file_; }
  const std::string& error() const { return error_; }
  // Empty when PATH is written in place.
  const std::string& temporary_path() const { return temporary_; }

  // Closes the file. `keep`: rename it into place; false (what was written did not all arrive):
  // remove it, and the previous file stays. False, after saying why on stderr with `name`, when
  // the file could not be closed or renamed.
  bool close(bool keep, std::string_view name);

 private:
  std::string path_, temporary_, error_;
  std::FILE* file_ = nullptr;
};

}  // namespace urlprobe::cli
