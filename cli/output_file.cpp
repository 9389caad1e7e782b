#include "output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "diagnostics.hpp"

namespace urlprobe::cli {

namespace {

// The temporary names this process has open: `-o x.jsonl -o ./x.jsonl` must not share one.
std::set<std::string>& names_in_use() {
  static std::set<std::string> names;
  return names;
}

// A new file for writing, created here so that it cannot be someone's symbolic link; -1 with
// errno when it cannot be.
int create(const std::string& name, std::optional<mode_t> mode) {
  int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    // Left by a run with our process id that was killed (in a container, every run has the
    // same one): no live process writes it.
    ::unlink(name.c_str());
    fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  }
  if (fd >= 0 && mode) ::fchmod(fd, *mode);
  return fd;
}

}  // namespace

ReplacedFile::ReplacedFile(const std::string& path) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target = path;
  std::optional<mode_t> mode;  // none: a new file, with the umask's mode
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) {
      mode = st.st_mode & 07777;
      target = fs::canonical(path, ec);  // a symbolic link stays, its file is replaced
      if (ec) target.clear();
    } else {
      target.clear();
    }
  } else if (errno != ENOENT || fs::is_symlink(path, ec)) {
    target.clear();  // a dangling link: the file it names is created, as before
  }
  if (!target.empty()) {
    auto name =
        target.parent_path() / fmt::format(".{}.tmp.{}", target.filename().string(), ::getpid());
    for (int n = 2; names_in_use().contains(name.string()); ++n)
      name = target.parent_path() /
             fmt::format(".{}.tmp.{}.{}", target.filename().string(), ::getpid(), n);
    if (const int fd = create(name.string(), mode); fd >= 0) {
      file_ = ::fdopen(fd, "w");
      if (file_) {
        path_ = target.string();
        temporary_ = name.string();
        names_in_use().insert(temporary_);
        return;
      }
      ::close(fd);
      ::unlink(name.c_str());
    }
  }
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) error_ = std::strerror(errno);
}

ReplacedFile::~ReplacedFile() {
  if (file_) close(false, {});
}

bool ReplacedFile::close(bool keep, std::string_view name) {
  if (!file_) return false;
  errno = 0;
  bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok && keep)
    say(fmt::format("{}: write failed: {}", name, std::strerror(errno ? errno : EIO)));
  if (temporary_.empty()) return ok || !keep;
  names_in_use().erase(temporary_);
  if (ok && keep && std::rename(temporary_.c_str(), path_.c_str()) != 0) {
    say(fmt::format("{}: cannot rename {} into place: {}", name, temporary_, std::strerror(errno)));
    ok = false;
  }
  if (!ok || !keep) ::unlink(temporary_.c_str());
  temporary_.clear();
  return ok || !keep;
}

}  // namespace urlprobe::cli
